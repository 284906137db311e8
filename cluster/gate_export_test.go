package cluster

// The gate's caps and counts, for gate_test.go.
const (
	MaxHandshakes          = maxHandshakes
	MaxHandshakesPerSource = maxHandshakesPerSource
	MaxWaiting             = maxWaiting
	StrangerCost           = strangerCost
	WaiterCost             = waiterCost
)

// GateInFlight returns how many handshakes n's gate holds in flight.
func GateInFlight(n *Node) int {
	n.gate.mu.Lock()
	defer n.gate.mu.Unlock()
	return n.gate.inFlight
}

// GatePeaks returns the most handshakes n's gate has held in flight at
// once, in all and from one source.
func GatePeaks(n *Node) (all, fromOne int) {
	n.gate.mu.Lock()
	defer n.gate.mu.Unlock()
	return n.gate.peak, n.gate.peakFrom
}

// HelloLimit returns the largest hello n takes.
func HelloLimit(n *Node) int { return n.tagsFrameLimit() }

// HelloRoom returns n's budget of large hellos.
func HelloRoom(n *Node) int { return n.helloRoom() }
