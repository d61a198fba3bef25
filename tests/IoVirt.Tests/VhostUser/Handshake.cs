using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>The start-up sequence a front end such as QEMU sends, up to the memory table.</summary>
internal static class Handshake
{
    public static VhostUserFrontend Connect(VhostUserTestBed bed, bool packed = false, bool eventIdx = true, bool replyAck = true)
    {
        var frontend = bed.Connect();
        var offered = frontend.GetFeatures();
        var protocol = frontend.GetProtocolFeatures();
        frontend.SetProtocolFeatures(replyAck ? protocol : protocol & ~IoVirt.Abi.VhostUser.VhostUserProtocolFeatures.ReplyAck);
        frontend.SetOwner();
        var wanted = VirtioFeature.Bit(VirtioFeature.Version1)
            | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures)
            | VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)
            | (eventIdx ? VirtioFeature.Bit(VirtioFeature.RingEventIdx) : 0)
            | (packed ? VirtioFeature.Bit(VirtioFeature.RingPacked) : 0);
        frontend.SetFeatures(wanted & offered);
        frontend.SetMemTable(bed.Memory);
        return frontend;
    }
}
