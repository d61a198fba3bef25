namespace IoVirt.Hypervisor;

/// <summary>The host has no usable hypervisor (no /dev/kvm, no permission, an API or capability missing).</summary>
public sealed class HypervisorUnavailableException(string message) : Exception(message);
