// Package smtptest has SMTP servers for tests that go-smtp-mock cannot play.
package smtptest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// AuthServer is a minimal ESMTP server on loopback that offers AUTH and
// answers every attempt with reply (e.g. "535 5.7.8 …"): go-smtp-mock v2
// does not implement AUTH. It returns its port and the AUTH lines it got.
func AuthServer(t testing.TB, reply string) (port int, authLines func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 auth.test ESMTP\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimSpace(line)
					verb := strings.ToUpper(strings.Fields(line + " x")[0])
					switch verb {
					case "EHLO":
						fmt.Fprint(c, "250-auth.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
					case "AUTH":
						mu.Lock()
						seen = append(seen, line)
						mu.Unlock()
						fmt.Fprint(c, reply+"\r\n")
					case "QUIT":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "502 5.5.2 not here\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
