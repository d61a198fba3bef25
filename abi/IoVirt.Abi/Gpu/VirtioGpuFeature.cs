namespace IoVirt.Abi.Gpu;

/// <summary>GPU device feature bit numbers, virtio 1.2 §5.7.3.</summary>
public static class VirtioGpuFeature
{
    /// <summary>3D mode through virgl (the 0x02xx commands and capsets).</summary>
    public const int Virgl = 0;

    /// <summary>GET_EDID is supported.</summary>
    public const int Edid = 1;

    /// <summary>RESOURCE_ASSIGN_UUID is supported.</summary>
    public const int ResourceUuid = 2;

    /// <summary>Blob resources (RESOURCE_CREATE_BLOB and friends).</summary>
    public const int ResourceBlob = 3;

    /// <summary>Contexts with a capset id and several fence timelines.</summary>
    public const int ContextInit = 4;
}
