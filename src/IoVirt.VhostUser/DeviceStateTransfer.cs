using IoVirt.Abi.VhostUser;
using IoVirt.Devices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// Moves a suspended device's state through the front end's pipe (SET_DEVICE_STATE_FD), on a
/// background task so the connection keeps serving, and reports the outcome once
/// (CHECK_DEVICE_STATE).
/// </summary>
internal sealed class DeviceStateTransfer(VirtioDeviceModel device, ILogger log)
{
    private Task? _transfer;

    /// <summary>Starts saving the state into, or loading it from, <paramref name="pipe"/>, which it takes over.</summary>
    public void Begin(VhostUserTransferDirection direction, SafeFileHandle pipe)
    {
        var save = direction == VhostUserTransferDirection.Save;
        var stream = new FileStream(pipe, save ? FileAccess.Write : FileAccess.Read, bufferSize: 0);
        _transfer = save ? Task.Run(() => Save(stream)) : Task.Run(() => Load(stream));
    }

    /// <summary>Waits for the transfer begun last and says whether it went through; false when none was begun.</summary>
    public bool Check()
    {
        var transfer = _transfer;
        _transfer = null;
        if (transfer is null)
        {
            return false;
        }

        try
        {
            transfer.GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException)
        {
            log.LogWarning("device state transfer failed: {Reason}", e.Message);
            return false;
        }
    }

    private void Save(FileStream pipe)
    {
        using (pipe)
        {
            device.SaveState(pipe);
        }
    }

    private void Load(FileStream pipe)
    {
        // Read to the end first, so the device parses a complete state and a short one is an error.
        using var state = new MemoryStream();
        using (pipe)
        {
            pipe.CopyTo(state);
        }

        state.Position = 0;
        device.LoadState(state);
    }
}
