package exec

import "maps"

import "sync"

type Context struct {
	data   map[string]any
	parent *Context
	lock   sync.Mutex
}

func NewContext(data map[string]any) *Context {
	return &Context{data: data}
}

func EmptyContext() *Context {
	return &Context{data: map[string]any{}}
}

func (ctx *Context) Has(name string) bool {
	ctx.lock.Lock()
	_, exists := ctx.data[name]
	ctx.lock.Unlock()
	if !exists && ctx.parent != nil {
		return ctx.parent.Has(name)
	}
	return exists
}

func (ctx *Context) Get(name string) (any, bool) {
	ctx.lock.Lock()
	value, exists := ctx.data[name]
	ctx.lock.Unlock()
	if exists {
		return value, true
	} else if ctx.parent != nil {
		return ctx.parent.Get(name)
	} else {
		return nil, false
	}
}

func (ctx *Context) Set(name string, value any) {
	ctx.lock.Lock()
	ctx.data[name] = value
	ctx.lock.Unlock()
}

// Assign sets name in the nearest context that has it (this one when none
// does), as a method that changes a value (l.append(x)) must: the value
// belongs to the scope that defined it, not to the loop or block running the
// method. The root context (the environment's globals, shared by every
// render) is never written.
func (ctx *Context) Assign(name string, value any) {
	for c := ctx; c != nil && c.parent != nil; c = c.parent {
		c.lock.Lock()
		_, ok := c.data[name]
		if ok {
			c.data[name] = value
		}
		c.lock.Unlock()
		if ok {
			return
		}
	}
	ctx.Set(name, value)
}

func (ctx *Context) Inherit() *Context {
	ctx.lock.Lock()
	inherited := &Context{
		data:   map[string]any{},
		parent: ctx,
	}
	ctx.lock.Unlock()
	return inherited
}

// Update updates this context with the key/value pairs from a map.
func (ctx *Context) Update(other *Context) *Context {
	if other == nil {
		return ctx
	}
	ctx.lock.Lock()
	maps.Copy(ctx.data, other.data)
	ctx.lock.Unlock()
	return ctx
}
