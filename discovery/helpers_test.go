package discovery_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/discovery"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/testlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor is how long a test waits for an expected event.
const waitFor = clustertest.WaitFor

// fastJoin are the options of joiners in tests.
func fastJoin(log *slog.Logger) []discovery.Option {
	return []discovery.Option{
		discovery.WithInterval(20 * time.Millisecond),
		discovery.WithBackoff(10*time.Millisecond, 40*time.Millisecond),
		discovery.WithTimeout(clustertest.Timeout),
		discovery.WithLogger(log),
	}
}

// startJoin runs Join until the test ends, or until the returned stop is
// called, which waits for Join and returns its error.
func startJoin(t *testing.T, n discovery.Node, src discovery.Source, opts ...discovery.Option) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- discovery.Join(ctx, n, src, opts...) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// dnsServer is a DNS server on 127.0.0.1 whose answers a test changes. It
// answers A and AAAA queries from its addresses and SRV queries from its
// services, and NXDOMAIN for names it does not know.
type dnsServer struct {
	t    *testing.T
	addr string // where it listens, kept across stop and start

	mu       sync.Mutex
	ips      map[string][]netip.Addr // by lower-case fully qualified name
	services map[string][]srvTarget
	srv      *dns.Server
	done     chan struct{} // closed when srv stops serving
}

// srvTarget is one SRV record: a target name and a port.
type srvTarget struct {
	host string
	port uint16
}

func newDNSServer(t *testing.T) *dnsServer {
	s := &dnsServer{t: t, addr: "127.0.0.1:0", ips: map[string][]netip.Addr{}, services: map[string][]srvTarget{}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start serves on the server's address (a new one the first time).
func (s *dnsServer) start() {
	pc, err := net.ListenPacket("udp", s.addr)
	require.NoError(s.t, err)
	started, done := make(chan struct{}), make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: func() { close(started) }}
	go func() {
		defer close(done)
		srv.ActivateAndServe()
	}()
	<-started
	s.mu.Lock()
	s.addr, s.srv, s.done = pc.LocalAddr().String(), srv, done
	s.mu.Unlock()
}

// stop stops serving: queries are refused until start.
func (s *dnsServer) stop() {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		<-done
	}
}

// resolver returns a resolver that asks this server only. It closes the
// connection of a query whose context ends: the resolver itself would wait
// for an answer, which a server stopped mid-query never sends, until its
// timeout, and outlive the test.
func (s *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			s.mu.Lock()
			addr := s.addr
			s.mu.Unlock()
			var d net.Dialer
			c, err := d.DialContext(ctx, "udp", addr)
			if err == nil {
				context.AfterFunc(ctx, func() { c.Close() })
			}
			return c, err
		},
	}
}

// setIPs makes name resolve to addrs.
func (s *dnsServer) setIPs(name string, addrs ...string) {
	ips := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		ips[i] = netip.MustParseAddr(a)
	}
	s.mu.Lock()
	s.ips[dns.CanonicalName(name)] = ips
	s.mu.Unlock()
}

// setSRV makes name's SRV records targets.
func (s *dnsServer) setSRV(name string, targets ...srvTarget) {
	s.mu.Lock()
	s.services[dns.CanonicalName(name)] = targets
	s.mu.Unlock()
}

// ServeDNS answers from the server's records.
func (s *dnsServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	name := dns.CanonicalName(q.Name)
	hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET}
	s.mu.Lock()
	ips, hasIPs := s.ips[name]
	targets, hasSRV := s.services[name]
	s.mu.Unlock()
	switch {
	case !hasIPs && !hasSRV:
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA:
		for _, ip := range ips {
			if ip.Is4() {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip.AsSlice()})
			}
		}
	case q.Qtype == dns.TypeAAAA:
		for _, ip := range ips {
			if ip.Is6() {
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: ip.AsSlice()})
			}
		}
	case q.Qtype == dns.TypeSRV:
		for _, tg := range targets {
			m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr, Priority: 10, Weight: 10, Port: tg.port, Target: dns.Fqdn(tg.host)})
		}
	}
	w.WriteMsg(m)
}

// newLogger returns a logger whose records a test can look for.
func newLogger(t *testing.T) (*slog.Logger, *testlog.Recorder) {
	r := testlog.New(t)
	return r.Logger(), r
}
