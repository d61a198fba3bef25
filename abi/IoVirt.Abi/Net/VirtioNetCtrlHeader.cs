using System.Runtime.InteropServices;

namespace IoVirt.Abi.Net;

/// <summary>Command classes of the network control queue, virtio 1.2 §5.1.6.5.</summary>
public enum VirtioNetCtrlClass : byte
{
    /// <summary>Receive filtering modes; commands in <see cref="VirtioNetCtrlRx"/>.</summary>
    Rx = 0,
    /// <summary>MAC filter table and address; commands in <see cref="VirtioNetCtrlMac"/>.</summary>
    Mac = 1,
    /// <summary>VLAN filtering; commands in <see cref="VirtioNetCtrlVlan"/>.</summary>
    Vlan = 2,
    /// <summary>Announcement acknowledgement; commands in <see cref="VirtioNetCtrlAnnounce"/>.</summary>
    Announce = 3,
    /// <summary>Multiqueue, RSS and hash reporting; commands in <see cref="VirtioNetCtrlMq"/>.</summary>
    Mq = 4,
    /// <summary>Receive offload configuration; commands in <see cref="VirtioNetCtrlGuestOffloads"/>.</summary>
    GuestOffloads = 5,
    /// <summary>Notification coalescing; commands in <see cref="VirtioNetCtrlNotfCoal"/>.</summary>
    NotfCoal = 6,
}

/// <summary>The ack byte the device writes at the end of a control command, virtio 1.2 §5.1.6.5.</summary>
public enum VirtioNetCtrlAck : byte
{
    Ok = 0,
    Error = 1,
}

/// <summary>
/// Head of every control-queue command (struct virtio_net_ctrl, virtio 1.2 §5.1.6.5): class and
/// command, one byte each. Command-specific data follows, then the device-writable ack byte.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioNetCtrlHeader
{
    public const int Size = 2;
    public const int ClassOffset = 0;
    public const int CommandOffset = 1;

    private byte _class;
    private byte _command;

    public VirtioNetCtrlClass Class { readonly get => (VirtioNetCtrlClass)_class; set => _class = (byte)value; }

    /// <summary>Command within the class (u8).</summary>
    public byte Command { readonly get => _command; set => _command = value; }
}
