using IoVirt.Interop;
using IoVirt.Testing;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// A call descriptor set on a running ring is signalled once: QEMU sets it after the kick, so a
/// completion published in between went to the old descriptor. Found migrating a guest under
/// QEMU 7.2: its NIC, on INTx, now and then never saw another receive interrupt. A ring's start
/// signals its call descriptor once too (a previous back end may have died before signalling;
/// InflightTests), and a descriptor replaced before the start gets nothing.
/// </summary>
public sealed class CallReplacementTests
{
    [Fact]
    public void A_call_descriptor_set_on_a_running_ring_is_signalled_once_and_one_replaced_before_the_start_is_not()
    {
        using var bed = new VhostUserTestBed(new EchoDevice());
        using var frontend = Handshake.Connect(bed);
        using var early = EventFd.Create();
        frontend.SetVringCall(0, early); // the ring has not started: nothing to signal
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        Assert.False(early.IsSignalled);
        Assert.True(queue.Call.Wait(5000), "the ring's start was not signalled");
        Assert.False(queue.Call.Wait(200), "the ring's start was signalled more than once");

        using var replacement = EventFd.Create();
        frontend.SetVringCall(0, replacement);
        Assert.True(replacement.Wait(5000), "the call descriptor set on the running ring was not signalled");
        Assert.False(replacement.Wait(200), "signalled more than once");
    }
}
