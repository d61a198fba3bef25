namespace IoVirt.Testing;

/// <summary>
/// Builds virgl command streams (virglrenderer's virgl_protocol.h) for SUBMIT_3D: the few commands
/// a guest needs to clear a render target, as Mesa's virgl driver encodes them.
/// </summary>
public sealed class VirglCommandStream
{
    private const uint CreateObject = 1;
    private const uint SetFramebufferState = 5;
    private const uint Clear = 7;
    private const uint ObjectSurface = 8;
    private const uint ResourceCopyRegion = 17;

    /// <summary>PIPE_CLEAR_COLOR0.</summary>
    private const uint ClearColor0 = 1 << 2;

    private readonly List<uint> _words = [];

    /// <summary>A surface object <paramref name="handle"/> on level 0, layer 0 of resource <paramref name="resource"/>.</summary>
    public VirglCommandStream Surface(uint handle, uint resource, uint format) =>
        Command(CreateObject, ObjectSurface, handle, resource, format, 0, 0);

    /// <summary>The framebuffer: one colour buffer, no depth.</summary>
    public VirglCommandStream Framebuffer(uint colorSurface) => Command(SetFramebufferState, 0, 1, 0, colorSurface);

    /// <summary>Clears colour buffer 0 to the colour (depth 0.0, stencil 0).</summary>
    public VirglCommandStream ClearColor(float red, float green, float blue, float alpha) =>
        Command(Clear, 0, ClearColor0, Bits(red), Bits(green), Bits(blue), Bits(alpha), 0, 0, 0);

    /// <summary>Copies a <paramref name="width"/> by <paramref name="height"/> box at the origin of level 0 of <paramref name="source"/> to the same place in <paramref name="destination"/>.</summary>
    public VirglCommandStream CopyRegion(uint destination, uint source, uint width, uint height) =>
        Command(ResourceCopyRegion, 0, destination, 0, 0, 0, 0, source, 0, 0, 0, 0, width, height, 1);

    /// <summary>Any words, with a header claiming <paramref name="length"/> of them (for malformed streams).</summary>
    public VirglCommandStream Raw(uint command, uint length, params uint[] body)
    {
        _words.Add(command | (length << 16));
        _words.AddRange(body);
        return this;
    }

    public byte[] ToBytes() => [.. _words.SelectMany(BitConverter.GetBytes)];

    private static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    private VirglCommandStream Command(uint command, uint objectType, params uint[] body)
    {
        _words.Add(command | (objectType << 8) | ((uint)body.Length << 16));
        _words.AddRange(body);
        return this;
    }
}
