//go:build nodev

package devstack

import (
	"context"
	"errors"
)

// ErrNotBuilt is what Start returns in a binary built with the tag nodev.
var ErrNotBuilt = errors.New("this binary was built without the dev stack (tag nodev)")

// Stack is never running in a nodev build.
type Stack struct{}

// Start always fails: the embedded server is not in this binary.
func Start(context.Context, Options) (*Stack, error) { return nil, ErrNotBuilt }

// FrontendAddress is "" in a nodev build.
func (s *Stack) FrontendAddress() string { return "" }

// UIURL is "" in a nodev build.
func (s *Stack) UIURL() string { return "" }

// Stop does nothing in a nodev build.
func (s *Stack) Stop() {}
