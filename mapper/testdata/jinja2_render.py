"""Renders every case of a Jinja2 differential corpus with Python's jinja2.

Usage: python3 jinja2_render.py CORPUS.json > RESULTS.json

Each case is rendered with a default jinja2.Environment() (autoescape off,
Undefined for missing names) and its data (the corpus' defaultData when the
case has none). The result is a list, in corpus order, of
{"name", "output"} or {"name", "error": "<exception class>: <message>"}.
"""
import copy
import json
import sys

import jinja2


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        corpus = json.load(f)
    env = jinja2.Environment()
    default = corpus.get("defaultData", {})
    out = []
    for case in corpus["cases"]:
        # A fresh copy per case: a template may change its data (l.append(x)),
        # and the next case must not see that (our side parses each anew).
        data = copy.deepcopy(case.get("data", default))
        res = {"name": case["name"]}
        try:
            res["output"] = env.from_string(case["template"]).render(**data)
        except Exception as e:  # every failure is an answer to compare
            res["error"] = "%s: %s" % (type(e).__name__, e)
        out.append(res)
    json.dump({"jinja2": jinja2.__version__, "results": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
