package flinkconf

// Slot-manager and external-resource options the resource planner reads
// (ResourceManagerOptions, ExternalResourceOptions).
var (
	MinSlotNum         = opt("slotmanager.number-of-slots.min", TypeInt, "0", "Minimum total slots the cluster keeps (active deployments); derives the minimum total CPU and memory.")
	MaxSlotNum         = opt("slotmanager.number-of-slots.max", TypeInt, "2147483647", "Maximum total slots; derives the maximum total CPU and memory.")
	MinTotalCPU        = opt("slotmanager.min-total-resource.cpu", TypeDouble, "", "Minimum total CPU cores of the cluster; derived from slotmanager.number-of-slots.min if unset.")
	MaxTotalCPU        = opt("slotmanager.max-total-resource.cpu", TypeDouble, "", "Maximum total CPU cores of the cluster; derived from slotmanager.number-of-slots.max if unset.")
	MinTotalMemory     = opt("slotmanager.min-total-resource.memory", TypeMemorySize, "", "Minimum total memory of the cluster; derived from slotmanager.number-of-slots.min if unset.")
	MaxTotalMemory     = opt("slotmanager.max-total-resource.memory", TypeMemorySize, "", "Maximum total memory of the cluster; derived from slotmanager.number-of-slots.max if unset.")
	ExternalResources  = opt("external-resources", TypeString, "", "List (';'-separated) of external resource names, e.g. gpu; each needs external-resource.<name>.amount.")
	SlotRequestTimeout = opt("slot.request.timeout", TypeDuration, "5 min", "How long a slot request may stay pending before the job fails with NoResourceAvailableException.")
)

// PlannerOptions lists the options above, for misspelling detection next to KnownOptions.
var PlannerOptions = []Option{
	MinSlotNum, MaxSlotNum, MinTotalCPU, MaxTotalCPU, MinTotalMemory, MaxTotalMemory,
	ExternalResources, SlotRequestTimeout,
}

// ExternalResourceAmountKey is the key of an external resource's amount (a long), e.g.
// external-resource.gpu.amount.
func ExternalResourceAmountKey(name string) string { return "external-resource." + name + ".amount" }
