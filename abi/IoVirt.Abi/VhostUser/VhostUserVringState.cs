using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Vring state payload (vhost-user.rst, "A vring state description"; struct vhost_vring_state):
/// ring index and a number whose meaning depends on the request, u32 each, native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserVringState
{
    public const int Size = 8;
    public const int IndexOffset = 0;
    public const int NumOffset = 4;

    private uint _index;
    private uint _num;

    /// <summary>Ring index (u32, native order).</summary>
    public uint Index { readonly get => _index; set => _index = value; }

    /// <summary>Queue size, ring base, enable flag or endianness, by request (u32, native order).</summary>
    public uint Num { readonly get => _num; set => _num = value; }
}
