package cluster

// AssemblyHeld returns the bytes claimed in n's assembly budget, by
// fragmented payloads under way and by those not yet consumed, and
// AssemblyLimit the budget (assembly.go).
func AssemblyHeld(n *Node) int64 { return n.asm.Held() }

// AssemblyLimit returns the size of n's assembly budget.
func AssemblyLimit(n *Node) int64 { return n.asm.limit }
