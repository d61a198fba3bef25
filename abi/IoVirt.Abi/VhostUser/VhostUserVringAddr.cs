using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>Flags of <see cref="VhostUserVringAddr"/> (VHOST_VRING_F_LOG is bit 0).</summary>
[Flags]
public enum VhostUserVringAddrFlags : uint
{
    None = 0,
    /// <summary>Log writes to the used ring at <see cref="VhostUserVringAddr.LogGuestAddr"/>.</summary>
    Log = 1 << 0,
}

/// <summary>
/// Ring address payload of SET_VRING_ADDR (vhost-user.rst, "A vring address description"; struct
/// vhost_vring_addr): index and flags (u32), then the descriptor table, used ring and available ring
/// addresses and the log address (u64), native byte order. Ring addresses are front-end user
/// addresses, or IOVAs once ACCESS_PLATFORM is negotiated.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserVringAddr
{
    public const int Size = 40;
    public const int IndexOffset = 0;
    public const int FlagsOffset = 4;
    public const int DescUserAddrOffset = 8;
    public const int UsedUserAddrOffset = 16;
    public const int AvailUserAddrOffset = 24;
    public const int LogGuestAddrOffset = 32;

    private uint _index;
    private uint _flags;
    private ulong _descUserAddr;
    private ulong _usedUserAddr;
    private ulong _availUserAddr;
    private ulong _logGuestAddr;

    public uint Index { readonly get => _index; set => _index = value; }

    public VhostUserVringAddrFlags Flags { readonly get => (VhostUserVringAddrFlags)_flags; set => _flags = (uint)value; }

    /// <summary>Address of the descriptor table (u64, native order).</summary>
    public ulong DescUserAddr { readonly get => _descUserAddr; set => _descUserAddr = value; }

    /// <summary>Address of the used ring (u64, native order).</summary>
    public ulong UsedUserAddr { readonly get => _usedUserAddr; set => _usedUserAddr = value; }

    /// <summary>Address of the available ring (u64, native order).</summary>
    public ulong AvailUserAddr { readonly get => _availUserAddr; set => _availUserAddr = value; }

    /// <summary>Guest-physical address of the used ring, for dirty logging (u64, native order).</summary>
    public ulong LogGuestAddr { readonly get => _logGuestAddr; set => _logGuestAddr = value; }
}
