using System.ComponentModel;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Backends.Rng;
using IoVirt.Devices;
using IoVirt.Machine;
using IoVirt.Machine.Pci;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// The in-process devices of <c>iovirt vmm</c> (--disk, --net, --rng): the same device models
/// the daemons serve, run by <see cref="InProcessBackend"/>, and what they opened (images,
/// TAPs). Made before the machine and disposed after it, whose devices stop their sessions first.
/// </summary>
internal sealed class VmmInProcessDevices(ILogger logger) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <summary>A virtio-blk disk; <see cref="DeviceOpenException"/> when its image cannot be opened.</summary>
    public void AddDisk(PcMachine machine, VmmDiskSpec disk)
    {
        BlockStore store;
        try
        {
            store = disk.Path is null ? BlockStore.CreateRam(disk.RamBytes, disk.ReadOnly) : BlockStore.Open(disk.Path, disk.ReadOnly, direct: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Win32Exception)
        {
            throw new DeviceOpenException($"--disk {disk.Path ?? $"ram={disk.RamBytes}"}: {e.Message}", e);
        }

        _owned.Add(store);
        var device = new BlkDevice(store, new BlkDeviceOptions { Queues = disk.Queues ?? Math.Min(machine.VcpuCount, VmmDiskSpec.MaxQueues), ReadOnly = disk.ReadOnly }, logger);
        _owned.Add(device);
        Add(machine, device, VirtioDeviceId.Block, disk.Packed);
    }

    /// <summary>A virtio-net NIC on a host TAP; <see cref="DeviceOpenException"/> when the TAP cannot be opened.</summary>
    public void AddNic(PcMachine machine, VmmNetSpec nic)
    {
        TapPort port;
        try
        {
            port = new TapPort(nic.Tap, pairs: 1);
        }
        catch (Exception e) when (e is Win32Exception or IOException or UnauthorizedAccessException)
        {
            throw new DeviceOpenException($"--net tap={nic.Tap}: {e.Message}", e);
        }

        _owned.Add(port);
        var options = new NetDeviceOptions();
        var device = new NetDevice(port, nic.Mac is { } mac ? options with { Mac = mac } : options, logger);
        _owned.Add(device);
        Add(machine, device, VirtioDeviceId.Net, nic.Packed);
    }

    /// <summary>A virtio-rng device on the host's entropy.</summary>
    public void AddRng(PcMachine machine) => Add(machine, new RngDevice(), VirtioDeviceId.Entropy, packed: false);

    /// <summary>
    /// No busy polling: the device threads share the host's cores with the vCPUs, and wake on
    /// the ioeventfd kicks as a daemon does at rest.
    /// </summary>
    private void Add(PcMachine machine, VirtioDeviceModel device, VirtioDeviceId type, bool packed) =>
        machine.AddVirtio(VhostUserBackend.InProcess(new InProcessBackend(device, logger), type, machine.Memory, logger, packed));

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }
}

/// <summary>An in-process device's image or TAP could not be opened.</summary>
internal sealed class DeviceOpenException(string message, Exception inner) : Exception(message, inner);
