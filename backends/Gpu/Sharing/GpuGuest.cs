using IoVirt.Arbitration;
using IoVirt.Interop;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>A guest of a shared GPU, as the arbiter knows it: its name, its share (in nanoseconds of GPU time a second), and the socket to its GPU process.</summary>
public sealed record GpuGuest(string Name, TenantSpec Share, UnixSocket Socket);
