package kube

// Permission is one rule flinktune needs: the verbs it uses on a resource.
type Permission struct {
	Resource Resource
	Verbs    []string
}

// Permissions lists every API call this package makes, as RBAC rules; deploy/rbac.yaml
// grants exactly these (a test holds the two together).
var Permissions = []Permission{
	{FlinkDeployments, []string{"get", "list", "watch", "patch"}}, // Watcher; applyChange (get + apply)
	{FlinkSessionJobs, []string{"get", "list", "watch", "patch"}},
	{Deployments, []string{"get", "list", "watch", "patch"}}, // reactive TaskManagers: spec.replicas by apply
	{Events, []string{"create"}},                             // Recorder
	{Leases, []string{"get", "create", "update"}},            // Elector
}
