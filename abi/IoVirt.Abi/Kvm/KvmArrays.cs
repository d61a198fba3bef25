using System.Runtime.CompilerServices;

namespace IoVirt.Abi.Kvm;

// The fixed arrays of KVM's structures that carry data, indexable as spans.

[InlineArray(8)]
public struct KvmBytes8
{
    private byte _element0;
}

[InlineArray(128)]
public struct KvmBytes128
{
    private byte _element0;
}

[InlineArray(256)]
public struct KvmBytes256
{
    private byte _element0;
}

[InlineArray(1024)]
public struct KvmBytes1024
{
    private byte _element0;
}

[InlineArray(4)]
public struct KvmUInt64x4
{
    private ulong _element0;
}

[InlineArray(16)]
public struct KvmUInt64x16
{
    private ulong _element0;
}
