namespace IoVirt.Abi.Gpu;

/// <summary>Capability set ids, virtio 1.2 §5.7.6.8 (GET_CAPSET_INFO): which renderer protocol a capset describes.</summary>
public static class VirtioGpuCapset
{
    /// <summary>virgl's first capability layout (struct virgl_caps_v1).</summary>
    public const uint Virgl = 1;

    /// <summary>virgl's second capability layout (struct virgl_caps_v2), a superset of the first.</summary>
    public const uint Virgl2 = 2;
}
