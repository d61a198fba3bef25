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
}
