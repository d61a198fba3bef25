using System.Runtime.CompilerServices;

namespace IoVirt.Abi;

// Fixed runs of bytes that fill reserved or padding positions inside the layouts, so a struct
// declares every byte the spec declares. They carry no meaning and are never read.

[InlineArray(3)]
internal struct FixedBytes3
{
    private byte _element0;
}

[InlineArray(5)]
internal struct FixedBytes5
{
    private byte _element0;
}

[InlineArray(7)]
internal struct FixedBytes7
{
    private byte _element0;
}

[InlineArray(16)]
internal struct FixedBytes16
{
    private byte _element0;
}

[InlineArray(12)]
internal struct FixedBytes12
{
    private byte _element0;
}

[InlineArray(36)]
internal struct FixedBytes36
{
    private byte _element0;
}

[InlineArray(60)]
internal struct FixedBytes60
{
    private byte _element0;
}
