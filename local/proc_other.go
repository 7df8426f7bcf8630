//go:build !linux

package local

import "syscall"

// childAttr: own process group; outside Linux there is no parent-death signal, so only Stop
// (and the process-group kill) ends the children.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
