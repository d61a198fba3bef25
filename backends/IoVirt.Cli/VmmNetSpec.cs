using IoVirt.Backends.Net;
using IoVirt.Interop;

namespace IoVirt.Cli;

/// <summary>One <c>--net</c> of <c>iovirt vmm</c>: an in-process virtio-net device on a host TAP.</summary>
internal sealed record VmmNetSpec(string Tap, MacAddress? Mac, bool Packed)
{
    public const string Syntax = "tap=NAME[,mac=MAC][,packed=on]";

    public static VmmNetSpec? Parse(string text, out string why)
    {
        why = $"expected {Syntax}";
        string? tap = null;
        MacAddress? mac = null;
        var packed = false;
        foreach (var (key, value) in DeviceOptionText.Pairs(text))
        {
            switch (key)
            {
                case "tap" when TapDevice.IsValidName(value):
                    tap = value;
                    break;
                case "mac" when MacAddress.TryParseUnicast(value, out var parsed):
                    mac = parsed;
                    break;
                case "packed" when DeviceOptionText.Switch(value) is { } on:
                    packed = on;
                    break;
                default:
                    why = $"unknown or bad '{key}' (tap: an interface name; mac: a unicast MAC); {Syntax}";
                    return null;
            }
        }

        return tap is null ? null : new VmmNetSpec(tap, mac, packed);
    }
}
