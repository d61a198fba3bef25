using FsCheck;
using FsCheck.Fluent;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Properties;

/// <summary>
/// During a live migration the front end copies only the pages the dirty log names, so every byte
/// a device writes into guest memory must be logged, the ring's own fields included (used
/// elements, the used index, the notification suppression fields). A page the device changed
/// without logging it arrives stale at the destination: a stale avail_event there left a guest
/// that never kicked its transmit queue again.
/// </summary>
public class DirtyLogCoverageProperties
{
    private enum Step
    {
        Offer,
        Serve,
        Enable,
        Disable,
        Interrupt,
        Take,
    }

    private static readonly Arbitrary<(Step[] Steps, bool EventIdx)> Programs =
        (from steps in Gen.ArrayOf(Gen.Elements(Enum.GetValues<Step>()), 60)
         from eventIdx in Gen.Elements(true, false)
         select (steps, eventIdx)).ToArbitrary();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_page_a_device_step_changes_is_in_the_dirty_log(bool packed)
    {
        var property = Prop.ForAll(Programs, program =>
        {
            using var h = QueueHarness.Create(packed, 16, program.EventIdx, indirect: false, dataBytes: 64 << 10);
            using var watch = new DirtyLogWatch(h);
            var offered = 0;
            foreach (var step in program.Steps)
            {
                if (step is Step.Offer or Step.Take)
                {
                    offered += Drive(h, step, offered);
                    continue;
                }

                watch.Snapshot();
                Run(watch.Device, step);
                var page = watch.FirstUnloggedChange();
                Assert.True(page is null, $"{step} changed page {page} of the ring and data area without logging it");
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), property);
    }

    /// <summary>The driver's steps (its writes are the guest CPU's, which the front end tracks itself): offer a chain, or take what was used.</summary>
    private static int Drive(QueueHarness h, Step step, int offered)
    {
        if (step == Step.Take)
        {
            while (h.Driver.TryTakeUsed(out _, out _))
            {
            }

            return 0;
        }

        var slot = h.DataBase + ((ulong)(offered % 8) * 0x2000);
        if (!h.Driver.TryAdd([new DriverBuffer(slot, 64, false), new DriverBuffer(slot + 0x1000 - 32, 96, true)], indirect: false, out _))
        {
            return 0;
        }

        h.Driver.PublishAvail();
        return 1;
    }

    /// <summary>The device's steps: serve what is available (writing each chain's writable part), or change its notification state.</summary>
    private static void Run(DeviceQueue device, Step step)
    {
        switch (step)
        {
            case Step.Serve:
                while (device.TryPop(out var chain))
                {
                    uint written = 0;
                    while (chain.TryGetNext(out var buffer))
                    {
                        if (buffer.IsWritable)
                        {
                            var data = new byte[buffer.Length];
                            Random.Shared.NextBytes(data);
                            Assert.Equal(MemoryFault.None, device.Memory.Write(buffer.GuestAddress, data));
                            written += buffer.Length;
                        }
                    }

                    device.AddUsed(chain.Head, written);
                }

                device.PublishUsed();
                break;
            case Step.Enable:
                _ = device.EnableNotifications();
                break;
            case Step.Disable:
                device.DisableNotifications();
                break;
            case Step.Interrupt:
                _ = device.NeedsInterrupt();
                break;
        }
    }
}
