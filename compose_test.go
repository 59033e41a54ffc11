package orderintake_test

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Temporal's frontend and Web UI have no authentication of ours: whoever
// reaches them can signal any order. docker-compose.yml may publish them on
// loopback only.
func TestComposePublishesTemporalOnLoopbackOnly(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Ports []any  `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	temporal := 0
	for name, svc := range doc.Services {
		if !strings.HasPrefix(svc.Image, "temporalio/") {
			continue
		}
		temporal++
		for _, p := range svc.Ports {
			host, err := hostIP(p)
			if err != nil {
				t.Errorf("service %s: %v", name, err)
				continue
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ip.IsLoopback() {
				t.Errorf("service %s publishes %v on %q: Temporal ports must be bound to 127.0.0.1 (or not published)", name, p, host)
			}
		}
	}
	if temporal < 2 {
		t.Fatalf("found %d temporalio/* services, want the server and the UI (did the images change?)", temporal)
	}
	// The check itself must catch the old, open form.
	if h, _ := hostIP("7233:7233"); h != "0.0.0.0" {
		t.Fatalf(`hostIP("7233:7233") = %q, want 0.0.0.0`, h)
	}
}

// hostIP is the address a compose port entry binds on the host: short syntax
// "[ip:]published:target[/proto]" or long syntax {host_ip, published, target}.
func hostIP(p any) (string, error) {
	switch v := p.(type) {
	case int:
		return "0.0.0.0", nil // container port published on a random host port, all interfaces
	case string:
		s := strings.SplitN(v, "/", 2)[0]
		if strings.HasPrefix(s, "[") { // [::1]:7233:7233
			end := strings.Index(s, "]")
			if end < 0 {
				return "", fmt.Errorf("bad port entry %q", v)
			}
			return s[1:end], nil
		}
		parts := strings.Split(s, ":")
		if len(parts) == 3 {
			return parts[0], nil
		}
		return "0.0.0.0", nil
	case map[string]any:
		if ip, ok := v["host_ip"].(string); ok && ip != "" {
			return ip, nil
		}
		return "0.0.0.0", nil
	}
	return "", fmt.Errorf("unreadable port entry %v", p)
}
