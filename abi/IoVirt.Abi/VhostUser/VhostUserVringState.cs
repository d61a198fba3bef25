using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>"A vring state description": ring index and a number (size, base, enable flag).</summary>
[StructLayout(LayoutKind.Sequential, Size = StateSize)]
public struct VhostUserVringState
{
    public const int StateSize = 8;

    public uint Index;
    public uint Num;
}

/// <summary>The u64 of SET_VRING_KICK/CALL/ERR: ring index in bits 0-7, bit 8 set when no descriptor is attached.</summary>
public static class VhostUserVringFd
{
    public const ulong IndexMask = 0xff;
    public const ulong NoFdFlag = 1 << 8;
}
