namespace IoVirt.Machine;

/// <summary>What a PC is built with.</summary>
public sealed record MachineOptions
{
    public required ulong MemorySize { get; init; }

    public int VcpuCount { get; init; } = 1;

    /// <summary>Where COM1's output goes.</summary>
    public required Stream Console { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
