using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// "A vring address description": ring addresses in the front end's virtual address space
/// (IOVAs with ACCESS_PLATFORM) and the guest address for used-ring logging.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = AddrSize)]
public struct VhostUserVringAddr
{
    public const int AddrSize = 40;

    /// <summary>VHOST_VRING_F_LOG: log writes to the used ring.</summary>
    public const uint LogFlag = 1;

    public uint Index;
    public uint Flags;
    public ulong DescriptorUserAddress;
    public ulong UsedUserAddress;
    public ulong AvailableUserAddress;
    public ulong LogGuestAddress;
}
