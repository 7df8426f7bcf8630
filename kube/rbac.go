package kube

// Permission is one rule flinktune needs: the verbs it uses on a resource.
type Permission struct {
	Resource Resource
	Verbs    []string
	Names    []string // resourceNames, where the rule is narrowed to them
}

// Permissions lists every API call this package makes, as RBAC rules; deploy/rbac.yaml
// grants exactly these (a test holds the two together).
var Permissions = []Permission{
	{FlinkDeployments, []string{"get", "list", "watch", "patch"}, nil}, // Watcher; applyChange (get + apply)
	{FlinkSessionJobs, []string{"get", "list", "watch", "patch"}, nil},
	{Deployments, []string{"get", "list", "watch", "patch"}, nil},        // reactive TaskManagers: spec.replicas by apply
	{Events, []string{"create"}, nil},                                    // Recorder
	{Leases, []string{"get", "create", "update"}, nil},                   // Elector
	{ConfigMaps, []string{"create"}, nil},                                // StateStore, the first time
	{ConfigMaps, []string{"get", "update"}, []string{"flinktune-state"}}, // StateStore
}
