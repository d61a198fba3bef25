using System.Runtime.InteropServices;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Tests.Gpu;

/// <summary>The GPU-time turn messages as the tests send and read them on one end of a socket pair.</summary>
internal static class TurnWire
{
    public static void Send(UnixSocket socket, GpuTurnKind kind, ulong value = 0)
    {
        var message = new GpuTurnMessage(kind, value);
        socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<GpuTurnMessage>(in message)));
    }

    /// <summary>The next message on <paramref name="socket"/>, which must come within five seconds, whole.</summary>
    public static GpuTurnMessage Next(UnixSocket socket, string silence)
    {
        Assert.True(socket.WaitReadable(5_000), silence);
        var buffer = new byte[GpuTurnMessage.Size];
        Span<SafeFileHandle?> fds = default;
        Assert.Equal(GpuTurnMessage.Size, socket.Receive(buffer, fds, out _));
        return MemoryMarshal.Read<GpuTurnMessage>(buffer);
    }
}
