// The HQ template editor: CodeMirror 6 over the page's <textarea
// data-editor>, which stays the form field (the page works without this
// script; the editor keeps the textarea's value in step and the form posts it).
//
// It runs under the HQ's CSP (default-src 'self': no inline script or style).
// CodeMirror injects its styles with style-mod, which writes a <style> tag
// into a document (refused by that CSP) but uses a constructed, adopted
// style sheet inside a shadow root (not an inline style): so the editor is
// mounted in a shadow root.
import { EditorState, RangeSetBuilder } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, Decoration, ViewPlugin, MatchDecorator,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from "@codemirror/language";
import { json } from "@codemirror/lang-json";
import { xml } from "@codemirror/lang-xml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import "./editor.css";

// Jinja overlay: the template is JSON, XML or text with Jinja in it. The
// base language highlights the document; this marks the Jinja parts on top:
// {{ expr }}, {% tag %}, {# comment #} and the ##{{ expr }} raw-JSON form.
const jinjaRe = /##\{\{[\s\S]*?\}\}|\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
const jinjaMarks = {
  expr: Decoration.mark({ class: "cm-jinja cm-jinja-expr" }),
  raw: Decoration.mark({ class: "cm-jinja cm-jinja-raw" }),
  tag: Decoration.mark({ class: "cm-jinja cm-jinja-tag" }),
  comment: Decoration.mark({ class: "cm-jinja cm-jinja-comment" }),
};
const jinjaMatcher = new MatchDecorator({
  regexp: jinjaRe,
  decoration: (m) => {
    const s = m[0];
    if (s.startsWith("##")) return jinjaMarks.raw;
    if (s.startsWith("{%")) return jinjaMarks.tag;
    if (s.startsWith("{#")) return jinjaMarks.comment;
    return jinjaMarks.expr;
  },
});
const jinjaOverlay = ViewPlugin.fromClass(class {
  constructor(view) { this.decorations = jinjaMatcher.createDeco(view); }
  update(u) { this.decorations = jinjaMatcher.updateDeco(u, this.decorations); }
}, { decorations: (v) => v.decorations });

// The line Render failed on, highlighted as a whole (the gutter marker and
// the column come from the lint diagnostic).
const errLine = Decoration.line({ class: "cm-errline" });
function errorLineDeco(state, line) {
  const b = new RangeSetBuilder();
  if (line >= 1 && line <= state.doc.lines) b.add(state.doc.line(line).from, state.doc.line(line).from, errLine);
  return b.finish();
}

const theme = EditorView.theme({
  "&": { fontSize: "13px", border: "1px solid #c9ced6", borderRadius: "4px", background: "#fff" },
  "&.cm-focused": { outline: "2px solid #7aa7e0" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", minHeight: "18em", maxHeight: "40em" },
  ".cm-gutters": { background: "#f5f6f8", color: "#6b7280", borderRight: "1px solid #e3e6ea" },
  ".cm-jinja": { borderRadius: "2px" },
  ".cm-jinja-expr": { color: "#7c3aed", background: "#f3efff" },
  ".cm-jinja-raw": { color: "#9d174d", background: "#fdf0f6" },
  ".cm-jinja-tag": { color: "#0f766e", background: "#ecfdf8", fontWeight: "600" },
  ".cm-jinja-comment": { color: "#6b7280", fontStyle: "italic" },
  ".cm-errline": { background: "#fde8e8" },
  // @codemirror/lint draws its gutter markers and squiggles as data: SVG
  // images, which the HQ's CSP (img-src 'self' by default-src) refuses:
  // the same marks in plain CSS instead.
  ".cm-lint-marker": { content: "normal", display: "inline-block", width: ".7em", height: ".7em", margin: ".15em", borderRadius: "50%", boxSizing: "border-box" },
  ".cm-lint-marker-error": { content: "normal", background: "#f87", border: "2px solid #e11" },
  ".cm-lint-marker-warning": { content: "normal", background: "#fe8", border: "2px solid #d90", borderRadius: "2px" },
  ".cm-lint-marker-info": { content: "normal", background: "#aaf", border: "2px solid #77e", borderRadius: "2px" },
  ".cm-lintRange-error, .cm-lintRange-warning, .cm-lintRange-info, .cm-lintRange-hint": { backgroundImage: "none", textDecoration: "underline wavy", textUnderlineOffset: "3px" },
  ".cm-lintRange-error": { textDecorationColor: "#e11" },
  ".cm-lintRange-warning": { textDecorationColor: "orange" },
  ".cm-lintRange-info, .cm-lintRange-hint": { textDecorationColor: "#999" },
});

function diagnosticsFor(doc, err, warnings) {
  const at = (line, column) => {
    if (!line || line < 1 || line > doc.lines) return null;
    const l = doc.line(line);
    const from = Math.min(l.from + Math.max((column || 1) - 1, 0), l.to);
    return { from, to: Math.max(from, Math.min(from + 1, l.to)) };
  };
  const out = [];
  if (err) {
    const r = at(err.line, err.column);
    if (r) out.push({ ...r, severity: "error", message: err.message || "render failed here" });
  }
  for (const w of warnings || []) {
    const r = at(w.line, w.column);
    if (r) out.push({ ...r, severity: "warning", message: w.message });
  }
  return out;
}

function parseJSONAttr(el, name) {
  const s = el.getAttribute(name);
  if (!s) return null;
  try { return JSON.parse(s); } catch (e) { console.warn("editor: " + name + " is not JSON"); return null; }
}

function mount(ta) {
  const format = ta.dataset.format || "text";
  const lang = format === "json" ? [json()] : format === "xml" ? [xml()] : [];
  const errLineNo = parseInt(ta.dataset.errorLine || "0", 10);
  const err = errLineNo ? { line: errLineNo, column: parseInt(ta.dataset.errorColumn || "1", 10), message: ta.dataset.errorMessage } : null;
  const warnings = parseJSONAttr(ta, "data-warnings") || [];

  const host = document.createElement("div");
  host.className = "code-editor";
  host.id = (ta.id || "body") + "-editor";
  ta.insertAdjacentElement("afterend", host);
  const shadow = host.attachShadow({ mode: "open" });

  // The textarea is the form field: every edit is written back to it.
  const sync = EditorView.updateListener.of((u) => { if (u.docChanged) ta.value = u.state.doc.toString(); });
  const state = EditorState.create({
    doc: ta.value,
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), history(), drawSelection(),
      indentOnInput(), bracketMatching(), syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      lintGutter(), ...lang, jinjaOverlay, theme, sync,
      EditorView.decorations.of((view) => errorLineDeco(view.state, err ? err.line : 0)),
      EditorView.contentAttributes.of({ "aria-label": ta.getAttribute("aria-label") || "template body" }),
    ],
  });
  const view = new EditorView({ state, parent: shadow, root: shadow });
  ta.hidden = true;
  ta.classList.add("code-editor-source");

  const diags = diagnosticsFor(view.state.doc, err, warnings);
  if (diags.length) view.dispatch(setDiagnostics(view.state, diags));
  host.dataset.diagnostics = String(diags.length);
  if (err) {
    host.dataset.errorLine = String(err.line);
    const l = Math.min(Math.max(err.line, 1), view.state.doc.lines);
    view.dispatch({ selection: { anchor: view.state.doc.line(l).from }, scrollIntoView: true });
  }
  // Warnings listed by the page jump to their line.
  for (const a of document.querySelectorAll("[data-goto-line]")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      const n = Math.min(Math.max(parseInt(a.dataset.gotoLine, 10) || 1, 1), view.state.doc.lines);
      view.dispatch({ selection: { anchor: view.state.doc.line(n).from }, scrollIntoView: true });
      view.focus();
    });
  }
  // The variables panel inserts what its buttons carry at the cursor.
  for (const b of document.querySelectorAll("[data-insert]")) {
    b.addEventListener("click", (ev) => {
      ev.preventDefault();
      const text = b.dataset.insert;
      const r = view.state.selection.main;
      view.dispatch({ changes: { from: r.from, to: r.to, insert: text }, selection: { anchor: r.from + text.length } });
      view.focus();
    });
  }
  // No submit hook: the update listener already keeps the textarea in step
  // with every edit, and a value set on the textarea itself (a script, a
  // test) is not overwritten by an untouched editor.
  host.dataset.ready = "true";
  return view;
}

function start() {
  for (const ta of document.querySelectorAll("textarea[data-editor]")) mount(ta);
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
