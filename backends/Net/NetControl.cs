using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;

namespace IoVirt.Backends.Net;

/// <summary>
/// The control queue's commands (virtio 1.2 §5.1.6.5): receive modes, MAC tables and address,
/// VLAN filter, queue pairs in use and receive offloads. A command is its 2-byte header and
/// data, all guest-chosen: each is checked against the negotiated features and its exact data
/// length, and answers OK or ERR; nothing is changed by a command that answers ERR.
/// </summary>
public sealed class NetControl(NetReceiveFilter filter, int maxPairs)
{

    /// <summary>Feature bits negotiated with the driver.</summary>
    public ulong Negotiated { get; set; }

    /// <summary>Queue pairs the driver uses (VQ_PAIRS_SET); 1 until it says otherwise.</summary>
    public int ActivePairs { get; private set; } = 1;

    /// <summary>The driver set a new MAC address (CTRL_MAC_ADDR).</summary>
    public Action? MacChanged { get; set; }

    /// <summary>The driver changed the receive offloads it accepts (CTRL_GUEST_OFFLOADS).</summary>
    public Action<NetOffloads>? GuestOffloadsChanged { get; set; }

    public void Reset() => ActivePairs = 1;

    /// <summary>Runs one command: <paramref name="command"/> is the class and command bytes followed by the command's data.</summary>
    public VirtioNetCtrlAck Execute(ReadOnlySpan<byte> command)
    {
        if (command.Length < VirtioNetCtrlHeader.Size)
        {
            return VirtioNetCtrlAck.Error;
        }

        var data = command[VirtioNetCtrlHeader.Size..];
        var ok = (VirtioNetCtrlClass)command[VirtioNetCtrlHeader.ClassOffset] switch
        {
            VirtioNetCtrlClass.Rx => Has(VirtioNetFeature.CtrlRx) && RxMode(command[VirtioNetCtrlHeader.CommandOffset], data),
            VirtioNetCtrlClass.Mac => Mac(command[VirtioNetCtrlHeader.CommandOffset], data),
            VirtioNetCtrlClass.Vlan => Has(VirtioNetFeature.CtrlVlan) && Vlan(command[VirtioNetCtrlHeader.CommandOffset], data),
            VirtioNetCtrlClass.Mq => Has(VirtioNetFeature.Mq) && QueuePairs(command[VirtioNetCtrlHeader.CommandOffset], data),
            VirtioNetCtrlClass.GuestOffloads => Has(VirtioNetFeature.CtrlGuestOffloads) && GuestOffloads(command[VirtioNetCtrlHeader.CommandOffset], data),
            _ => false,
        };
        return ok ? VirtioNetCtrlAck.Ok : VirtioNetCtrlAck.Error;
    }

    private bool Has(int feature) => (Negotiated & VirtioFeature.Bit(feature)) != 0;

    private bool RxMode(byte command, ReadOnlySpan<byte> data)
    {
        // One byte, 0 or 1; the other modes belong to CTRL_RX_EXTRA, which is not offered.
        if (data.Length != 1 || data[0] > 1)
        {
            return false;
        }

        switch (command)
        {
            case VirtioNetCtrlRx.Promisc:
                filter.Promiscuous = data[0] != 0;
                return true;
            case VirtioNetCtrlRx.AllMulti:
                filter.AllMulticast = data[0] != 0;
                return true;
            default:
                return false;
        }
    }

    private bool Mac(byte command, ReadOnlySpan<byte> data)
    {
        if (command == VirtioNetCtrlMac.AddrSet)
        {
            if (!Has(VirtioNetFeature.CtrlMacAddr) || data.Length != MacAddress.Length)
            {
                return false;
            }

            filter.Mac = MacAddress.Read(data);
            MacChanged?.Invoke();
            return true;
        }

        // TABLE_SET: a unicast table then a multicast table, each a le32 count and that many addresses.
        if (command != VirtioNetCtrlMac.TableSet || !Has(VirtioNetFeature.CtrlRx)
            || !TryTable(data, out var unicastCount, out var unicast, out var rest)
            || !TryTable(rest, out var multicastCount, out var multicast, out rest) || !rest.IsEmpty)
        {
            return false;
        }

        filter.SetTable(multicast: false, unicastCount, unicast);
        filter.SetTable(multicast: true, multicastCount, multicast);
        return true;
    }

    private static bool TryTable(ReadOnlySpan<byte> data, out int count, out ReadOnlySpan<byte> addresses, out ReadOnlySpan<byte> rest)
    {
        count = 0;
        addresses = rest = default;
        if (data.Length < 4)
        {
            return false;
        }

        var entries = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (entries > (uint)(data.Length - 4) / MacAddress.Length)
        {
            return false;
        }

        count = (int)entries;
        addresses = data.Slice(4, count * MacAddress.Length);
        rest = data[(4 + (count * MacAddress.Length))..];
        return true;
    }

    private bool Vlan(byte command, ReadOnlySpan<byte> data)
    {
        if (data.Length != 2 || command > VirtioNetCtrlVlan.Del)
        {
            return false;
        }

        var id = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (id >= 4096)
        {
            return false;
        }

        filter.SetVlan(id, command == VirtioNetCtrlVlan.Add);
        return true;
    }

    private bool QueuePairs(byte command, ReadOnlySpan<byte> data)
    {
        if (command != VirtioNetCtrlMq.VqPairsSet || data.Length != VirtioNetCtrlMqPairs.Size)
        {
            return false;
        }

        var pairs = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (pairs < VirtioNetCtrlMq.VqPairsMin || pairs > maxPairs)
        {
            return false;
        }

        ActivePairs = pairs;
        return true;
    }

    private bool GuestOffloads(byte command, ReadOnlySpan<byte> data)
    {
        if (command != VirtioNetCtrlGuestOffloads.Set || data.Length != 8)
        {
            return false;
        }

        var bits = BinaryPrimitives.ReadUInt64LittleEndian(data);
        var allowed = Negotiated & (VirtioFeature.Bit(VirtioNetFeature.GuestCsum) | VirtioFeature.Bit(VirtioNetFeature.GuestTso4)
            | VirtioFeature.Bit(VirtioNetFeature.GuestTso6) | VirtioFeature.Bit(VirtioNetFeature.GuestEcn));
        if ((bits & ~allowed) != 0)
        {
            return false;
        }

        var offloads = NetFeatures.GuestOffloads(bits);
        // Segments handed over unfinished always carry a partial checksum too.
        if (offloads != NetOffloads.None && (offloads & NetOffloads.Csum) == 0)
        {
            return false;
        }

        GuestOffloadsChanged?.Invoke(offloads);
        return true;
    }
}
