using IoVirt.Abi.Virtio;

namespace IoVirt.Cli;

/// <summary>One <c>--vhost-user type=TYPE,socket=PATH</c> of <c>iovirt vmm</c>.</summary>
internal sealed record VhostUserDeviceSpec(VirtioDeviceId Type, string Socket, bool Packed)
{
    public const string Syntax = "type=blk|net|rng,socket=PATH[,packed=on]";

    public static VhostUserDeviceSpec? Parse(string text, out string why)
    {
        why = $"expected {Syntax}";
        VirtioDeviceId? type = null;
        string? socket = null;
        var packed = false;
        foreach (var (key, value) in DeviceOptionText.Pairs(text))
        {
            switch (key)
            {
                case "type":
                    type = value switch
                    {
                        "blk" => VirtioDeviceId.Block,
                        "net" => VirtioDeviceId.Net,
                        "rng" => VirtioDeviceId.Entropy,
                        _ => null,
                    };
                    if (type is null)
                    {
                        why = $"unknown device type '{value}'; {Syntax}";
                        return null;
                    }

                    break;
                case "packed" when DeviceOptionText.Switch(value) is { } on:
                    packed = on;
                    break;
                case "socket" when value.Length > 0:
                    socket = value;
                    break;
                default:
                    why = $"unknown or empty '{key}'; {Syntax}";
                    return null;
            }
        }

        return type is { } t && socket is not null ? new VhostUserDeviceSpec(t, socket, packed) : null;
    }
}
