using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;

namespace IoVirt.Tests.Gpu;

/// <summary>The 2D command set over real rings: what a guest's driver does to show a picture, and every bad input's answer.</summary>
public sealed class GpuDeviceTests : IDisposable
{
    private readonly RecordingDisplay _display = new();
    private readonly GpuTestDriver _gpu;

    public GpuDeviceTests() => _gpu = new GpuTestDriver(new GpuDevice(new GpuDeviceOptions { Scanouts = 2, Width = 1024, Height = 768, MaxResourceBytes = 1 << 20 }, _display));

    [Fact]
    public void Display_info_lists_each_scanout_with_its_preferred_mode()
    {
        var answer = _gpu.SendRaw(MemoryMarshal.AsBytes([GpuTestDriver.Header(VirtioGpuCtrlType.GetDisplayInfo)]));
        Assert.Equal(VirtioGpuRespDisplayInfo.Size, answer.Length);
        var info = MemoryMarshal.Read<VirtioGpuRespDisplayInfo>(answer);
        Assert.Equal(VirtioGpuCtrlType.OkDisplayInfo, info.Header.Type);
        for (var i = 0; i < VirtioGpuConfig.MaxScanouts; i++)
        {
            var mode = info.Modes[i];
            Assert.Equal(i < 2 ? (1024U, 768U, 1U) : (0U, 0U, 0U), (mode.Rect.Width, mode.Rect.Height, mode.Enabled));
        }

        var config = MemoryMarshal.Read<VirtioGpuConfig>(_gpu.Device.ConfigSpace);
        Assert.Equal(2U, config.NumScanouts);
        Assert.Equal(0U, config.NumCapsets);
    }

    [Fact]
    public void A_fenced_command_answers_with_its_fence()
    {
        var header = GpuTestDriver.Header(VirtioGpuCtrlType.ResourceCreate2d);
        header.Flags = VirtioGpuCtrlFlags.Fence;
        header.FenceId = 0x1122334455667788;
        header.CtxId = 7;
        var answer = _gpu.Send(new VirtioGpuResourceCreate2d { Header = header, ResourceId = 1, Format = VirtioGpuFormat.B8G8R8A8Unorm, Width = 8, Height = 8 });
        Assert.Equal((VirtioGpuCtrlType.OkNoData, VirtioGpuCtrlFlags.Fence, 0x1122334455667788UL, 7U), (answer.Type, answer.Flags, answer.FenceId, answer.CtxId));

        var unfenced = _gpu.Send(new VirtioGpuResourceIdCommand { Header = GpuTestDriver.Header(VirtioGpuCtrlType.ResourceUnref), ResourceId = 1 });
        Assert.Equal((VirtioGpuCtrlType.OkNoData, VirtioGpuCtrlFlags.None, 0UL), (unfenced.Type, unfenced.Flags, unfenced.FenceId));
    }

    [Fact]
    public void What_the_guest_draws_in_scattered_backing_pages_reaches_the_scanout()
    {
        const uint width = 40, height = 30;
        var image = Pattern(width * height * 4);
        // Backing in three pieces, out of order in guest memory, the middle one not page aligned.
        var pieces = new (ulong Address, uint Length)[] { (_gpu.Backing + 0x8000, 1000), (_gpu.Backing + 0x100, 3000), (_gpu.Backing + 0x3000, (uint)image.Length - 4000) };
        var at = 0;
        foreach (var (address, length) in pieces)
        {
            _gpu.WriteGuest(address, image.AsSpan(at, (int)length));
            at += (int)length;
        }

        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(5, width, height));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(5, pieces));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Transfer(5, new VirtioGpuRect(0, 0, width, height), 0));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(1, 5, new VirtioGpuRect(0, 0, width, height)));
        Assert.Equal((width, height), _display.Scanouts[1]);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Flush(5, new VirtioGpuRect(0, 0, width, height)));
        Assert.Equal(image, _display.Frames[1]);
    }

    [Fact]
    public void A_partial_transfer_copies_only_its_rectangle_and_a_flush_reports_the_damage_in_scanout_coordinates()
    {
        const uint width = 16, height = 8;
        var image = Pattern(width * height * 4);
        _gpu.WriteGuest(_gpu.Backing, image);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(2, width, height));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(2, (_gpu.Backing, (uint)image.Length)));
        var rect = new VirtioGpuRect(3, 2, 5, 4);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Transfer(2, rect, ((2 * width) + 3) * 4));
        // The scanout shows the resource from (1, 1): 15 by 7.
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(0, 2, new VirtioGpuRect(1, 1, 15, 7)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Flush(2, rect));

        var frame = _display.Frames[0];
        for (var y = 0; y < 7; y++)
        {
            for (var x = 0; x < 15; x++)
            {
                var (rx, ry) = (x + 1, y + 1);
                var inside = rx >= 3 && rx < 8 && ry >= 2 && ry < 6;
                var expected = inside ? image.AsSpan((int)(((ry * width) + rx) * 4), 4).ToArray() : new byte[4];
                Assert.Equal(expected, frame.AsSpan(((y * 15) + x) * 4, 4).ToArray());
            }
        }

        Assert.Equal((0, new VirtioGpuRect(2, 1, 5, 4)), (_display.Flushes[^1].Scanout, _display.Flushes[^1].Damage));
    }

    [Fact]
    public void Bad_resource_commands_get_the_spec_errors_and_change_nothing()
    {
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Create(0, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Create(1, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Create(2, 8, 8, (VirtioGpuFormat)99));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Create(2, 0, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Create(2, 8, GpuDeviceOptions.MaxResourceSide + 1));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Unref(2));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Attach(2, (_gpu.Backing, 256)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Detach(2));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Detach(1));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Transfer(1, new VirtioGpuRect(0, 0, 8, 8), 0));
        Assert.Equal(8UL * 8 * 4, _gpu.Device.ResourceBytes);
    }

    [Fact]
    public void Backing_outside_guest_memory_or_short_of_a_transfer_is_refused()
    {
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Attach(1, (_gpu.Control.RegionEnd - 100, 256)));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Attach(1, (0x1000, 256)));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Attach(1));
        // nr_entries larger than the entries the request carries.
        var header = new VirtioGpuResourceAttachBacking { Header = GpuTestDriver.Header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 1, NrEntries = 3 };
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Send(header, new byte[VirtioGpuMemEntry.Size]).Type);

        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Attach(1, (_gpu.Backing, 8 * 8 * 4)));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Attach(1, (_gpu.Backing, 8 * 8 * 4)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Transfer(1, new VirtioGpuRect(0, 0, 8, 8), 4));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Transfer(1, new VirtioGpuRect(0, 0, 8, 8), ulong.MaxValue - 2));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Transfer(1, new VirtioGpuRect(4, 0, 5, 8), 0));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Transfer(1, new VirtioGpuRect(uint.MaxValue, 0, 2, 1), 0));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Transfer(1, new VirtioGpuRect(0, 0, 8, 8), 0));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Detach(1));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Transfer(1, new VirtioGpuRect(0, 0, 8, 8), 0));
    }

    [Fact]
    public void Bad_scanout_commands_get_the_spec_errors()
    {
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidScanoutId, _gpu.SetScanout(2, 1, new VirtioGpuRect(0, 0, 8, 8)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.SetScanout(0, 9, new VirtioGpuRect(0, 0, 8, 8)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.SetScanout(0, 1, new VirtioGpuRect(1, 0, 8, 8)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.SetScanout(0, 1, new VirtioGpuRect(0, 0, 0, 8)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidResourceId, _gpu.Flush(9, new VirtioGpuRect(0, 0, 1, 1)));
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidParameter, _gpu.Flush(1, new VirtioGpuRect(0, 7, 8, 2)));
        Assert.Empty(_display.Scanouts);
        Assert.Empty(_display.Flushes);
    }

    [Fact]
    public void Freeing_a_shown_resource_turns_its_scanouts_off_and_zero_turns_one_off()
    {
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 8, 8));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(0, 1, new VirtioGpuRect(0, 0, 8, 8)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(1, 1, new VirtioGpuRect(0, 0, 4, 4)));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.SetScanout(1, 0, default));
        Assert.Equal((0U, 0U), _display.Scanouts[1]);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Unref(1));
        Assert.Equal((0U, 0U), _display.Scanouts[0]);
        Assert.Equal(0UL, _gpu.Device.ResourceBytes);
    }

    [Fact]
    public void A_guest_over_its_memory_quota_gets_out_of_memory_and_goes_on()
    {
        // 1 MiB quota: two 256x256 resources (256 KiB each), then one of 512x512 (1 MiB) does not fit.
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 256, 256));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(2, 256, 256));
        Assert.Equal(VirtioGpuCtrlType.ErrOutOfMemory, _gpu.Create(3, 512, 512));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(3, 256, 256));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Unref(1));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(4, 512, 128));
        Assert.Equal(3UL * 256 * 256 * 4, _gpu.Device.ResourceBytes);
    }

    [Fact]
    public void Short_unknown_and_3d_requests_get_err_unspec_and_no_room_gets_nothing()
    {
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, MemoryMarshal.Read<VirtioGpuCtrlHeader>(_gpu.SendRaw(new byte[10])).Type);
        var create = new VirtioGpuResourceCreate2d { Header = GpuTestDriver.Header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = 1, Format = VirtioGpuFormat.B8G8R8X8Unorm, Width = 8, Height = 8 };
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<VirtioGpuResourceCreate2d>(in create));
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, MemoryMarshal.Read<VirtioGpuCtrlHeader>(_gpu.SendRaw(bytes[..30])).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Send(GpuTestDriver.Header(VirtioGpuCtrlType.CtxCreate)).Type);
        Assert.Equal(VirtioGpuCtrlType.ErrUnspec, _gpu.Send(GpuTestDriver.Header((VirtioGpuCtrlType)0xdead)).Type);
        Assert.Empty(_gpu.SendRaw(MemoryMarshal.AsBytes([GpuTestDriver.Header(VirtioGpuCtrlType.GetDisplayInfo)]), answerRoom: 100));
        Assert.Equal(4, _gpu.Device.Errors);
    }

    [Fact]
    public void The_edid_describes_the_preferred_mode_and_checks_out()
    {
        var answer = _gpu.SendRaw(MemoryMarshal.AsBytes([new VirtioGpuGetEdid { Header = GpuTestDriver.Header(VirtioGpuCtrlType.GetEdid), Scanout = 1 }]));
        var response = MemoryMarshal.Read<VirtioGpuRespEdid>(answer);
        Assert.Equal((VirtioGpuCtrlType.OkEdid, 128U), (response.Header.Type, response.EdidSize));
        var edid = answer.AsSpan(VirtioGpuRespEdid.EdidOffset, 128);
        Assert.Equal(new byte[] { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 }, edid[..8].ToArray());
        Assert.Equal(0, edid.ToArray().Sum(b => b) % 256);
        var timing = edid.Slice(54, 18);
        Assert.Equal(1024, timing[2] | ((timing[4] >> 4) << 8));
        Assert.Equal(768, timing[5] | ((timing[7] >> 4) << 8));

        var bad = _gpu.Send(new VirtioGpuGetEdid { Header = GpuTestDriver.Header(VirtioGpuCtrlType.GetEdid), Scanout = 2 });
        Assert.Equal(VirtioGpuCtrlType.ErrInvalidScanoutId, bad.Type);
    }

    [Fact]
    public void A_display_with_modes_of_its_own_decides_display_info_and_the_edid()
    {
        // A VMM's display: scanout 0 at its window's size, scanout 1 disabled.
        var modes = new VirtioGpuDisplayOne[2];
        modes[0] = new VirtioGpuDisplayOne { Rect = new VirtioGpuRect(0, 0, 1920, 1080), Enabled = 1 };
        _display.Modes = modes;
        var info = MemoryMarshal.Read<VirtioGpuRespDisplayInfo>(_gpu.SendRaw(MemoryMarshal.AsBytes([GpuTestDriver.Header(VirtioGpuCtrlType.GetDisplayInfo)])));
        Assert.Equal((1920U, 1080U, 1U), (info.Modes[0].Rect.Width, info.Modes[0].Rect.Height, info.Modes[0].Enabled));
        Assert.Equal((0U, 0U, 0U), (info.Modes[1].Rect.Width, info.Modes[1].Rect.Height, info.Modes[1].Enabled));
        Assert.Equal(EdidSize(0), (1920, 1080));

        // A scanout the display gives no size (or one no EDID can carry) keeps the configured one.
        Assert.Equal(EdidSize(1), (1024, 768));
        modes[0].Rect = new VirtioGpuRect(0, 0, 5000, 1080);
        Assert.Equal(EdidSize(0), (1024, 768));
    }

    /// <summary>GET_EDID for <paramref name="scanout"/>: the preferred mode's size in its first detailed timing.</summary>
    private (int Width, int Height) EdidSize(uint scanout)
    {
        var answer = _gpu.SendRaw(MemoryMarshal.AsBytes([new VirtioGpuGetEdid { Header = GpuTestDriver.Header(VirtioGpuCtrlType.GetEdid), Scanout = scanout }]));
        Assert.Equal(VirtioGpuCtrlType.OkEdid, MemoryMarshal.Read<VirtioGpuRespEdid>(answer).Header.Type);
        var timing = answer.AsSpan(VirtioGpuRespEdid.EdidOffset + 54, 18);
        return (timing[2] | ((timing[4] >> 4) << 8), timing[5] | ((timing[7] >> 4) << 8));
    }

    [Fact]
    public void The_driver_clears_display_events_through_events_clear()
    {
        Assert.True(_gpu.Device.WriteConfig(VirtioGpuConfig.EventsClearOffset, BitConverter.GetBytes(VirtioGpuConfig.EventDisplay)));
        Assert.False(_gpu.Device.WriteConfig(VirtioGpuConfig.NumScanoutsOffset, BitConverter.GetBytes(5U)));
        Assert.Equal(2U, MemoryMarshal.Read<VirtioGpuConfig>(_gpu.Device.ConfigSpace).NumScanouts);
    }

    [Fact]
    public void The_cursor_takes_a_64_by_64_image_and_ignores_others()
    {
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(1, 64, 64));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Create(2, 32, 32));
        _gpu.SendCursor(new VirtioGpuUpdateCursor { Header = GpuTestDriver.Header(VirtioGpuCtrlType.UpdateCursor), ResourceId = 1, Position = new VirtioGpuCursorPos { ScanoutId = 1, X = 10, Y = 20 } });
        Assert.Equal((1U, 1U, 10U, 20U), _gpu.Device.Cursor);
        _gpu.SendCursor(new VirtioGpuUpdateCursor { Header = GpuTestDriver.Header(VirtioGpuCtrlType.UpdateCursor), ResourceId = 2 });
        Assert.Equal((1U, 1U, 10U, 20U), _gpu.Device.Cursor);
        _gpu.SendCursor(new VirtioGpuUpdateCursor { Header = GpuTestDriver.Header(VirtioGpuCtrlType.MoveCursor), ResourceId = 2, Position = new VirtioGpuCursorPos { ScanoutId = 0, X = 5, Y = 6 } });
        Assert.Equal((1U, 0U, 5U, 6U), _gpu.Device.Cursor);
        Assert.Equal(VirtioGpuCtrlType.OkNoData, _gpu.Unref(1));
        Assert.Equal(0U, _gpu.Device.Cursor.Resource);

        // The display saw the 64x64 image once, a move with the cursor still shown, and the
        // cursor hidden when its image went away.
        Assert.Equal(3, _display.CursorEvents.Count);
        Assert.Equal((1, 10U, 20U, true, 64 * 64 * 4), (_display.CursorEvents[0].Scanout, _display.CursorEvents[0].X, _display.CursorEvents[0].Y, _display.CursorEvents[0].Visible, _display.CursorEvents[0].Image!.Length));
        Assert.Equal((0, 5U, 6U, true, (byte[]?)null), _display.CursorEvents[1]);
        Assert.Equal((0, 5U, 6U, false, (byte[]?)null), _display.CursorEvents[2]);
    }

    public void Dispose() => _gpu.Dispose();

    private static byte[] Pattern(uint length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = unchecked((byte)((i * 7) + (i >> 8)));
        }

        return bytes;
    }
}
