package cli

// STUB (issue 12 scaffolding): replaced by its owner.
func poolAction(verb string) Command { return notBuilt("pool " + verb) }
