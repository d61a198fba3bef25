using System.IO.Pipes;
using IoVirt.Abi.VhostUser;
using IoVirt.Testing;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>DEVICE_STATE: a suspended device's state moves through a pipe from one back end to another.</summary>
public class DeviceStateTests
{
    [Fact]
    public void A_device_state_saved_by_one_back_end_loads_into_another()
    {
        using var source = new VhostUserTestBed(new EchoDevice());
        using var destination = new VhostUserTestBed(new EchoDevice());
        using var from = Handshake.Connect(source);
        using var to = Handshake.Connect(destination);
        from.SetConfig(4, [7, 8, 9, 10]);

        byte[] state;
        using (var pipe = new AnonymousPipeServerStream(PipeDirection.In))
        {
            var reply = from.SetDeviceStateFd(VhostUserTransferDirection.Save, pipe.ClientSafePipeHandle);
            Assert.Equal(VhostUserVringIndex.NoFdFlag, reply); // success, and no descriptor of the back end's own
            pipe.DisposeLocalCopyOfClientHandle();
            using var read = new MemoryStream();
            pipe.CopyTo(read);
            state = read.ToArray();
        }

        Assert.Equal(0UL, from.CheckDeviceState());
        Assert.Equal([7, 8, 9, 10], state);

        using (var pipe = new AnonymousPipeServerStream(PipeDirection.Out))
        {
            Assert.Equal(VhostUserVringIndex.NoFdFlag, to.SetDeviceStateFd(VhostUserTransferDirection.Load, pipe.ClientSafePipeHandle));
            pipe.DisposeLocalCopyOfClientHandle();
            pipe.Write(state);
        }

        Assert.Equal(0UL, to.CheckDeviceState());
        Assert.Equal([1, 2, 3, 4, 7, 8, 9, 10], to.GetConfig(0, 8));
    }

    [Fact]
    public void A_state_the_device_cannot_take_fails_the_check_and_a_running_device_cannot_transfer()
    {
        using var bed = new VhostUserTestBed(new EchoDevice());
        using var frontend = Handshake.Connect(bed);
        using (var pipe = new AnonymousPipeServerStream(PipeDirection.Out))
        {
            _ = frontend.SetDeviceStateFd(VhostUserTransferDirection.Load, pipe.ClientSafePipeHandle);
            pipe.DisposeLocalCopyOfClientHandle();
            pipe.Write([1, 2, 3]);
        }

        Assert.NotEqual(0UL, frontend.CheckDeviceState());
        Assert.NotEqual(0UL, frontend.CheckDeviceState()); // nothing in progress any more

        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        using var running = new AnonymousPipeServerStream(PipeDirection.In);
        Assert.Equal(1 | VhostUserVringIndex.NoFdFlag, frontend.SetDeviceStateFd(VhostUserTransferDirection.Save, running.ClientSafePipeHandle));
        Assert.NotEqual(0UL, frontend.GetFeatures()); // refused, and the connection goes on
    }
}
