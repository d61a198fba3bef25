namespace IoVirt.Abi.Gpu;

/// <summary>
/// The type word of every control and cursor queue message, virtio 1.2 §5.7.6.7: commands from
/// the driver (0x01xx 2D, 0x02xx 3D, 0x03xx cursor), responses from the device (0x11xx success,
/// 0x12xx errors).
/// </summary>
public enum VirtioGpuCtrlType : uint
{
    Undefined = 0,

    GetDisplayInfo = 0x0100,
    ResourceCreate2d = 0x0101,
    ResourceUnref = 0x0102,
    SetScanout = 0x0103,
    ResourceFlush = 0x0104,
    TransferToHost2d = 0x0105,
    ResourceAttachBacking = 0x0106,
    ResourceDetachBacking = 0x0107,
    GetCapsetInfo = 0x0108,
    GetCapset = 0x0109,
    GetEdid = 0x010a,
    ResourceAssignUuid = 0x010b,
    ResourceCreateBlob = 0x010c,
    SetScanoutBlob = 0x010d,

    CtxCreate = 0x0200,
    CtxDestroy = 0x0201,
    CtxAttachResource = 0x0202,
    CtxDetachResource = 0x0203,
    ResourceCreate3d = 0x0204,
    TransferToHost3d = 0x0205,
    TransferFromHost3d = 0x0206,
    Submit3d = 0x0207,
    ResourceMapBlob = 0x0208,
    ResourceUnmapBlob = 0x0209,

    UpdateCursor = 0x0300,
    MoveCursor = 0x0301,

    OkNoData = 0x1100,
    OkDisplayInfo = 0x1101,
    OkCapsetInfo = 0x1102,
    OkCapset = 0x1103,
    OkEdid = 0x1104,
    OkResourceUuid = 0x1105,
    OkMapInfo = 0x1106,

    ErrUnspec = 0x1200,
    ErrOutOfMemory = 0x1201,
    ErrInvalidScanoutId = 0x1202,
    ErrInvalidResourceId = 0x1203,
    ErrInvalidContextId = 0x1204,
    ErrInvalidParameter = 0x1205,
}
