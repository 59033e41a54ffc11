package parser

import (
	"fmt"

	"github.com/nikolalohinski/gonja/v2/logging"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
	log "github.com/sirupsen/logrus"
)

// ParseFilterExpression parses an optionnal filter chain for a node
func (p *Parser) ParseFilterExpression(expr nodes.Expression) (nodes.Expression, error) {
	if logging.Enabled() {
		log.WithFields(log.Fields{
			"current":    p.Current(),
			"expression": expr,
		}).Trace("ParseFilterExpression")
	}

	if p.Current(tokens.Pipe) != nil {

		filtered := &nodes.FilteredExpression{
			Expression: expr,
		}
		for p.Match(tokens.Pipe) != nil {

			filter, err := p.ParseFilter()
			if err != nil {
				return nil, err
			}

			filtered.Filters = append(filtered.Filters, filter)
		}
		expr = filtered
	}

	if logging.Enabled() {
		log.WithFields(log.Fields{
			"expr": expr,
		}).Trace("ParseFilterExpression return")
	}
	return expr, nil
}

// ParseExpression parses an expression with optional filters
// Nested expression should call this method
func (p *Parser) ParseExpression() (nodes.Expression, error) {
	if logging.Enabled() {
		log.WithFields(log.Fields{
			"current": p.Current(),
		}).Trace("ParseExpression")
	}
	var expr nodes.Expression

	expr, err := p.ParseLogicalExpression()
	if err != nil {
		return nil, err
	}

	expr, err = p.ParseFilterExpression(expr)
	if err != nil {
		return nil, err
	}

	if logging.Enabled() {
		log.WithFields(log.Fields{
			"expr": expr,
		}).Trace("ParseExpression return")
	}
	return expr, nil
}

func (p *Parser) ParseCondition() (nodes.Expression, nodes.Expression, error) {
	var returnedCondition, returnedAlternative nodes.Expression
	if p.MatchName("if") != nil {
		condition, err := p.ParseExpression()
		if err != nil {
			return nil, nil, err
		}
		if condition == nil {
			return nil, nil, p.Error("Expected a condition", p.Current())
		}
		returnedCondition = condition

		if p.MatchName("else") != nil {
			alternative, err := p.ParseExpressionWithCondition()
			if err != nil {
				return nil, nil, err
			}
			if alternative == nil {
				return nil, nil, p.Error("Expected an alternative", p.Current())
			}
			returnedAlternative = alternative
		}
	}

	return returnedCondition, returnedAlternative, nil
}

func (p *Parser) ParseExpressionNode() (nodes.Node, error) {
	if logging.Enabled() {
		log.WithFields(log.Fields{
			"current": p.Current(),
		}).Trace("ParseExpressionNode")
	}

	tok := p.Match(tokens.VariableBegin)
	if tok == nil {
		return nil, p.Error(fmt.Sprintf("'%s' expected here", p.Config.VariableStartString), p.Current())
	}

	node := &nodes.Output{
		Start: tok,
	}

	expr, err := p.ParseExpression()
	if err != nil {
		return nil, err
	}
	if expr == nil {
		return nil, p.Error("Expected an expression.", p.Current())
	}
	node.Expression = expr

	condition, alternative, err := p.ParseCondition()
	if err != nil {
		return nil, err
	}
	if condition != nil {
		node.Condition = condition
	}
	if alternative != nil {
		node.Alternative = alternative
	}
	tok = p.Match(tokens.VariableEnd)
	if tok == nil {
		return nil, p.Error(fmt.Sprintf("'%s' expected here", p.Config.VariableEndString), p.Current())
	}
	node.End = tok
	if data := p.Current(tokens.Data); data != nil {
		data.Trim = data.Trim || len(node.End.Val) > 0 && node.End.Val[0] == '-'
	}

	if logging.Enabled() {
		log.WithFields(log.Fields{
			"node": node,
		}).Trace("parseExpressionNode return")
	}
	return node, nil
}

// ParseExpressionWithCondition parses an expression that may be a Jinja2
// conditional expression, `a if c else b` (`else` optional, chains allowed).
// Patched in by orderintake (third_party/gonja/PATCHES.md): gonja understood
// an inline if only at the top of {{ }} and {% set %}, not inside ( ), [ ],
// { }, call or filter arguments, or after an `else`.
func (p *Parser) ParseExpressionWithCondition() (nodes.Expression, error) {
	expr, err := p.ParseExpression()
	if err != nil || expr == nil {
		return expr, err
	}
	ifToken := p.CurrentName("if")
	if ifToken == nil {
		return expr, nil
	}
	p.Consume()
	condition, err := p.ParseExpression()
	if err != nil {
		return nil, err
	}
	if condition == nil {
		return nil, p.Error("Expected a condition", p.Current())
	}
	var alternative nodes.Expression = &nodes.None{Location: ifToken}
	if p.MatchName("else") != nil {
		alternative, err = p.ParseExpressionWithCondition()
		if err != nil {
			return nil, err
		}
		if alternative == nil {
			return nil, p.Error("Expected an alternative", p.Current())
		}
	}
	return conditionalExpression(ifToken, condition, expr, alternative), nil
}

// conditionalExpression spells `yes if cond else no` with nodes the
// evaluator has: (cond and [yes] or [no])[0]. `and`/`or` return an operand
// and evaluate their right side only when needed, and a one-item list is
// always true, so exactly one branch is evaluated, as in Jinja2.
func conditionalExpression(at *tokens.Token, cond, yes, no nodes.Expression) nodes.Expression {
	operator := func(typ tokens.Type, val string) *nodes.BinOperator {
		t := *at
		t.Type, t.Val = typ, val
		return &nodes.BinOperator{Token: &t}
	}
	zero := *at
	zero.Type, zero.Val = tokens.Integer, "0"
	return &nodes.GetItem{
		Location: at,
		Node: &nodes.BinaryExpression{
			Left: &nodes.BinaryExpression{
				Left:     cond,
				Right:    &nodes.List{Location: at, Val: []nodes.Expression{yes}},
				Operator: operator(tokens.And, "and"),
			},
			Right:    &nodes.List{Location: at, Val: []nodes.Expression{no}},
			Operator: operator(tokens.Or, "or"),
		},
		Arg: &nodes.Integer{Location: &zero, Val: 0},
	}
}
