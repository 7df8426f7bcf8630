package local

import "syscall"

// childAttr: own process group (so a whole tree can be signalled) and death with the parent.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
