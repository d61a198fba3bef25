using System.Text.Json;
using IoVirt.Abi.Net;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Tests.Net;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt mux` serving nics as a process: guests driven over their sockets reach each other
/// through its switch, a spoofed source MAC reaches no one and shows in the counters printed on
/// exit, and bad nic configs are refused.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class MuxNicDaemonTests : IDisposable
{
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-mux-nic-daemon-").FullName;
    private readonly List<IDisposable> _owned = [];

    [Fact]
    public void Guests_on_two_nics_reach_each_other_and_a_nic_on_another_vlan_sees_neither()
    {
        using var daemon = Start($$"""{ "mtu": 1500, "nics": [ {{Nic("a", 0x0a)}}, {{Nic("b", 0x0b)}}, {{Nic("c", 0x0c, vlan: 5)}} ] }""");
        var a = Guest(daemon, "a");
        var b = Guest(daemon, "b");
        var c = Guest(daemon, "c");

        var toB = Frame(Mac(0x0b), Mac(0x0a), 300);
        a.Send(Header(), toB);
        Assert.Equal(toB, b.Receive(out _)?[VirtioNetHdr.Size..]);

        // SIGUSR1 reports while the guests go on.
        var snapshot = daemon.SnapshotReport();
        Assert.Equal(1, snapshot.GetProperty("nics").GetProperty("a").GetProperty("forwarded").GetInt64());
        Assert.Equal(JsonValueKind.Null, snapshot.GetProperty("disks").ValueKind);
        var fromB = Frame(Broadcast, Mac(0x0b), 90);
        b.Send(Header(), fromB);
        Assert.Equal(fromB, a.Receive(out _)?[VirtioNetHdr.Size..]);
        Assert.Null(c.Receive(out _, timeoutMs: 300));
        Assert.Contains("nic c on " + Socket("c") + ": MAC 02:00:00:00:00:0c, VLAN 5, MTU 1500", daemon.Stderr, StringComparison.Ordinal);

        var report = daemon.StopAndReadReport();
        Assert.Equal(1, report.GetProperty("nics").GetProperty("a").GetProperty("forwarded").GetInt64());
        Assert.Equal(1, report.GetProperty("nics").GetProperty("b").GetProperty("forwarded").GetInt64());
        Assert.Equal(0, report.GetProperty("nics").GetProperty("c").GetProperty("forwarded").GetInt64());
        Assert.Equal(0, report.GetProperty("nics").GetProperty("a").GetProperty("spoofed").GetInt64());
        Assert.False(File.Exists(Socket("a")) || File.Exists(Socket("b")), "a socket file was left behind");
    }

    [Fact]
    public void A_guest_sending_from_a_mac_not_its_own_reaches_no_one_and_the_report_counts_it()
    {
        using var daemon = Start($$"""{ "nics": [ {{Nic("a", 0x0a)}}, {{Nic("b", 0x0b)}} ] }""");
        var a = Guest(daemon, "a");
        var b = Guest(daemon, "b");

        a.Send(Header(), Frame(Mac(0x0b), Mac(0x0c), 80));  // posing as a MAC no port has
        a.Send(Header(), Frame(Broadcast, Mac(0x0b), 80));  // posing as B
        var own = Frame(Mac(0x0b), Mac(0x0a), 80, seed: 7);
        a.Send(Header(), own);

        // The port forwards in order, so had a spoofed frame got through it would come first.
        Assert.Equal(own, b.Receive(out _)?[VirtioNetHdr.Size..]);
        Assert.Null(b.Receive(out _, timeoutMs: 300));

        var report = daemon.StopAndReadReport();
        Assert.Equal(2, report.GetProperty("nics").GetProperty("a").GetProperty("spoofed").GetInt64());
        Assert.Equal(1, report.GetProperty("nics").GetProperty("a").GetProperty("forwarded").GetInt64());
    }

    [Fact]
    public void One_process_serves_disks_and_nics_together()
    {
        using var daemon = Start($$"""
            { "ram": "2M", "capacityIops": 100,
              "disks": [ { "name": "d", "socket": "{{Socket("d")}}", "size": "1M" } ],
              "nics": [ {{Nic("a", 0x0a)}}, {{Nic("b", 0x0b)}} ] }
            """);
        daemon.WaitForSocket(Socket("d"));
        var a = Guest(daemon, "a");
        var b = Guest(daemon, "b");
        a.Send(Header(), Frame(Mac(0x0b), Mac(0x0a), 64));
        Assert.NotNull(b.Receive(out _));
        Assert.Contains("disk d on " + Socket("d") + ": 1048576 bytes at 0", daemon.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, daemon.StopAndReadReport().GetProperty("nics").GetProperty("a").GetProperty("forwarded").GetInt64());
    }

    [Theory]
    [InlineData("\"nics[0]\" is missing \"mac\"", """{ "nics": [ { "name": "a", "socket": "a" } ] }""")]
    [InlineData("nic 'a': bad mac '01:00:00:00:00:01': six hex bytes, a unicast address",
        """{ "nics": [ { "name": "a", "socket": "a", "mac": "01:00:00:00:00:01" } ] }""")]
    [InlineData("nic 'a': bad mac '02:00:00:00:01': six hex bytes, a unicast address",
        """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:01" } ] }""")]
    [InlineData("nic 'a': bad vlan 4095: 0 (untagged) to 4094", """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01", "vlan": 4095 } ] }""")]
    [InlineData("nic 'a': bad vlan -1: 0 (untagged) to 4094", """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01", "vlan": -1 } ] }""")]
    [InlineData("nic 'a': bad weight 0: a whole number from 1 to 1000", """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01", "weight": 0 } ] }""")]
    [InlineData("nic 'a': a socket path is required", """{ "nics": [ { "name": "a", "socket": "", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("bad \"uplink\" 'a-name-of-16-char': an interface name of 1 to 15 printable characters",
        """{ "uplink": "a-name-of-16-char", "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("\"uplink\" is for nics, and the config has none",
        """{ "uplink": "tap0", "ram": "1M", "capacityIops": 1, "disks": [ { "name": "d", "socket": "d", "size": "1M" } ] }""")]
    [InlineData("bad \"mtu\" 67: 68 to 65535", """{ "mtu": 67, "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("two nics have the MAC 02:00:00:00:00:0A",
        """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:0a" }, { "name": "b", "socket": "b", "mac": "02:00:00:00:00:0A" } ] }""")]
    [InlineData("two devices are named 'a'",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "d", "size": "1M" } ], "nics": [ { "name": "a", "socket": "n", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("two devices use the socket s",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "d", "socket": "s", "size": "1M" } ], "nics": [ { "name": "n", "socket": "s", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("\"image\", \"ram\", \"capacityIops\", \"engine\" and \"fixedBuffers\" are for disks, and the config has none",
        """{ "ram": "4M", "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01" } ] }""")]
    [InlineData("the config needs a list of \"disks\", of \"nics\" or both", """{ "nics": [] }""")]
    [InlineData("the config needs a list of \"disks\", of \"nics\" or both", """{ "nics": null }""")]
    public void A_bad_nic_config_is_a_usage_error_that_says_what_is_wrong(string message, string config)
    {
        using var daemon = Start(config);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("\nRun 'iovirt mux --help' for the options.", daemon.Stderr.TrimEnd(), StringComparison.Ordinal);
    }

    private static byte[] Mac(byte last) => [0x02, 0, 0, 0, 0, last];

    private string Socket(string name) => Path.Combine(_directory, name + ".sock");

    private string Nic(string name, byte macLast, int vlan = 0) =>
        $$"""{ "name": "{{name}}", "socket": "{{Socket(name)}}", "mac": "02:00:00:00:00:{{macLast:x2}}", "vlan": {{vlan}} }""";

    private DaemonProcess Start(string config)
    {
        var path = Path.Combine(_directory, "mux.json");
        File.WriteAllText(path, config);
        return DaemonProcess.Start("mux", "--config", path);
    }

    /// <summary>A guest driver on nic <paramref name="name"/>, in memory of its own, with receive buffers posted.</summary>
    private NetDriver Guest(DaemonProcess daemon, string name)
    {
        daemon.WaitForSocket(Socket(name));
        var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, VhostUserTestBed.MemorySize, "iovirt-mux-nic-" + name));
        _owned.Add(memory);
        var driver = new NetDriver(Socket(name), memory, NetBed.DriverFeatures);
        _owned.Add(driver);
        driver.PostReceiveBuffers(16);
        return driver;
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
