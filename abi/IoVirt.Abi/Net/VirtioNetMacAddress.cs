using System.Runtime.CompilerServices;

namespace IoVirt.Abi.Net;

/// <summary>A six-byte Ethernet MAC address, stored in transmission order.</summary>
[InlineArray(Length)]
public struct VirtioNetMacAddress
{
    public const int Length = 6;

    private byte _element0;
}
