using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Tests.Interop;

public class UnixSocketTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Descriptors_sent_with_a_message_arrive_with_it_and_nothing_more(int count)
    {
        var (a, b) = UnixSocket.Pair();
        using var left = a;
        using var right = b;
        var events = Enumerable.Range(0, count).Select(_ => EventFd.Create()).ToArray();
        left.Send([1, 2, 3], events.Select(e => e.Fd).ToArray());

        var buffer = new byte[16];
        var fds = new SafeFileHandle?[8];
        Assert.Equal(3, right.Receive(buffer, fds, out var received));
        Assert.Equal(count, received);

        // The received descriptors are the same eventfds: a signal through one is seen by the other.
        for (var i = 0; i < count; i++)
        {
            using var copy = EventFd.Adopt(fds[i]!);
            events[i].Signal();
            Assert.True(copy.TryConsume());
            events[i].Dispose();
        }
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(12, 0)]
    [InlineData(32, 4 << 20)]
    public void A_head_and_a_body_arrive_as_one_run_of_bytes_however_large(int headBytes, int bodyBytes)
    {
        var (a, b) = UnixSocket.Pair();
        using var left = a;
        using var right = b;
        var head = Enumerable.Range(0, headBytes).Select(i => unchecked((byte)(i + 100))).ToArray();
        var body = Enumerable.Range(0, bodyBytes).Select(i => unchecked((byte)(i * 13))).ToArray();

        // Larger than the socket's buffer: the sender waits for the reader as it drains.
        var received = new byte[headBytes + bodyBytes];
        Exception? failed = null;
        var reader = new Thread(() => failed = Record.Exception(() =>
        {
            var fds = new SafeFileHandle?[8];
            for (var at = 0; at < received.Length;)
            {
                var n = right.Receive(received.AsSpan(at), fds, out _);
                Assert.True(n > 0);
                at += n;
            }
        }));
        reader.Start();
        left.Send(head, body);
        Assert.True(reader.Join(10_000));
        Assert.Null(failed);
        Assert.Equal([.. head, .. body], received);
    }

    [Fact]
    public void A_passed_descriptor_is_told_apart_as_listening_connected_or_neither()
    {
        var (a, b) = UnixSocket.Pair();
        using var left = a;
        using var right = b;
        Assert.Equal(PassedSocket.Connected, UnixSocket.Passed(left.Fd, out var path));
        Assert.Null(path);

        var directory = Directory.CreateTempSubdirectory("iovirt-passed-").FullName;
        var socketPath = Path.Combine(directory, "l.sock");
        using (var claim = SocketPathClaim.Acquire(socketPath))
        using (var listener = UnixSocket.Listen(claim))
        {
            Assert.Equal(PassedSocket.Listening, UnixSocket.Passed(listener.Fd, out path));
            // The name it was bound at: Listen binds beside the path, then renames into place.
            Assert.StartsWith(socketPath, path, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => UnixSocket.AdoptConnected(listener.Fd));
        }

        using var eventFd = EventFd.Create();
        Assert.Equal(PassedSocket.Other, UnixSocket.Passed(eventFd.Fd, out _));
        Assert.Throws<ArgumentException>(() => UnixSocket.AdoptListening(right.Fd, out _));
        Directory.Delete(directory, recursive: true);
    }
}
