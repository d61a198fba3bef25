using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>Direction of a back-end state transfer (vhost-user.rst, "Device state transfer parameters").</summary>
public enum VhostUserTransferDirection : uint
{
    /// <summary>Source side: the back-end writes its state for the front-end.</summary>
    Save = 0,
    /// <summary>Destination side: the back-end reads its state from the front-end.</summary>
    Load = 1,
}

/// <summary>Migration phase of a back-end state transfer (vhost-user.rst, "Device state transfer parameters").</summary>
public enum VhostUserMigrationPhase : uint
{
    /// <summary>The guest is stopped and the device suspended.</summary>
    Stopped = 0,
}

/// <summary>
/// Payload of SET_DEVICE_STATE_FD (vhost-user.rst, "Device state transfer parameters"): transfer
/// direction and migration phase, u32 each, native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserDeviceStateTransfer
{
    public const int Size = 8;
    public const int DirectionOffset = 0;
    public const int PhaseOffset = 4;

    private uint _direction;
    private uint _phase;

    public VhostUserTransferDirection Direction { readonly get => (VhostUserTransferDirection)_direction; set => _direction = (uint)value; }

    public VhostUserMigrationPhase Phase { readonly get => (VhostUserMigrationPhase)_phase; set => _phase = (uint)value; }
}
