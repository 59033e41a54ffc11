package app

import "testing"

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7233":            true,
		"127.0.0.2:7233":            true,
		"localhost:7233":            true,
		"[::1]:7233":                true,
		"10.0.0.5:7233":             false,
		"temporal.example.com:7233": false,
		"ns.tmprl.cloud:7233":       false,
		"127.0.0.1":                 false, // no port: not an address the SDK dials
		"[2001:db8::1]:7233":        false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
