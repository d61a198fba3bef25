namespace IoVirt.Cli;

/// <summary>
/// One <c>--disk</c> of <c>iovirt vmm</c>: an in-process virtio-blk disk on an image file or in
/// RAM. <see cref="Queues"/> is null when not given: one queue per vCPU, as QEMU does.
/// </summary>
internal sealed record VmmDiskSpec(string? Path, ulong RamBytes, bool ReadOnly, int? Queues, bool Packed)
{
    /// <summary>The most queues a disk takes, given or by default.</summary>
    public const int MaxQueues = 16;

    public const string Syntax = "path=PATH|ram=SIZE[,readonly=on][,queues=N][,packed=on]";

    public static VmmDiskSpec? Parse(string text, out string why)
    {
        why = $"expected {Syntax}";
        string? path = null;
        ulong ram = 0;
        var readOnly = false;
        int? queues = null;
        var packed = false;
        foreach (var (key, value) in DeviceOptionText.Pairs(text))
        {
            switch (key)
            {
                case "path" when value.Length > 0:
                    path = value;
                    break;
                case "ram" when ByteSize.TryParse(value, out var bytes) && bytes > 0 && bytes % 512 == 0:
                    ram = bytes;
                    break;
                case "readonly" when DeviceOptionText.Switch(value) is { } on:
                    readOnly = on;
                    break;
                case "packed" when DeviceOptionText.Switch(value) is { } on:
                    packed = on;
                    break;
                case "queues" when int.TryParse(value, out var n) && n is >= 1 and <= MaxQueues:
                    queues = n;
                    break;
                default:
                    why = $"unknown or bad '{key}' (queues: 1-{MaxQueues}; ram: a size in whole sectors, such as 256M); {Syntax}";
                    return null;
            }
        }

        if ((path is null) == (ram == 0))
        {
            why = $"give either path= or ram=; {Syntax}";
            return null;
        }

        return new VmmDiskSpec(path, ram, readOnly, queues, packed);
    }
}
