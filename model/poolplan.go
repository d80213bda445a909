package model

// The steps that create a first pool (libvirtx.PoolActions), in order.
const (
	StepPoolSecret    StepID = "define-pool-secret"
	StepPoolDefine    StepID = "define-pool"
	StepPoolBuild     StepID = "build-pool"
	StepPoolStart     StepID = "start-pool"
	StepPoolAutostart StepID = "autostart-pool"
)

// PoolPlan lists the steps that create a first pool of type typ (dir or
// rbd) named name: the cephx secret (rbd), define, build (dir), start,
// autostart. Rolling back undoes the finished ones in reverse.
func PoolPlan(typ, name string) []Step {
	var steps []Step
	if typ == "rbd" {
		steps = append(steps, Step{ID: StepPoolSecret, Title: "define the cephx secret (private)"})
	}
	steps = append(steps, Step{ID: StepPoolDefine, Title: "define " + typ + " pool " + name})
	if typ == "dir" {
		steps = append(steps, Step{ID: StepPoolBuild, Title: "build (create its directory)"})
	}
	return append(steps,
		Step{ID: StepPoolStart, Title: "start"},
		Step{ID: StepPoolAutostart, Title: "mark autostart"})
}
