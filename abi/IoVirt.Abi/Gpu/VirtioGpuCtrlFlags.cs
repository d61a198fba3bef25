namespace IoVirt.Abi.Gpu;

/// <summary>Flags of a control message header, virtio 1.2 §5.7.6.7.</summary>
[Flags]
public enum VirtioGpuCtrlFlags : uint
{
    None = 0,

    /// <summary>The driver wants the response only once the command's work is done; the response echoes fence_id.</summary>
    Fence = 1 << 0,

    /// <summary>With <see cref="Fence"/>: ring_idx names the context's fence timeline (CONTEXT_INIT).</summary>
    InfoRingIdx = 1 << 1,
}
