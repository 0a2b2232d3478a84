"""Lesson 00's exercises: what a dB of PSNR means for the error, minutes from a timing, and an image's values
against the lesson network's parameters."""

from __future__ import annotations

import numpy as np

from . import among, exercise, is_pair, not_yet, right


@exercise("0.1")
def mse_after(answer) -> object:
    """`answer(mse, gain_db)`: the mean squared error after the PSNR rises by `gain_db` dB."""
    for mse, gain in ((0.01, 1.0), (0.004, 3.0), (0.02, -2.0), (0.001, 0.5)):
        got, want = float(answer(mse, gain)), mse / 10 ** (gain / 10)
        if np.isclose(got, want, rtol=1e-6):
            continue
        if np.isclose(got, mse * 10 ** (gain / 10), rtol=1e-6):
            return not_yet("a higher PSNR means a smaller error: the MSE must go down when the PSNR goes up")
        if np.isclose(got, mse / 10**gain, rtol=1e-6):
            return not_yet("PSNR is 10·log10(1 / MSE): 10 dB, not 1 dB, is a factor of 10 in the error")
        if np.isclose(got, mse / 10 ** (gain / 20), rtol=1e-6):
            return not_yet("20·log10 is for amplitudes such as the RMSE; the MSE is already a square, so 10·log10")
        if np.isclose(got, mse / 1.26**gain, rtol=1e-6) or np.isclose(got, mse / 2 ** (gain / 3), rtol=1e-6):
            return not_yet("1.26 and 'halves every 3 dB' are rounded: use the exact factor, 10**(gain / 10)")
        if np.isclose(got, 10 ** (gain / 10), rtol=1e-6) or np.isclose(got, 10 ** (-gain / 10), rtol=1e-6):
            return not_yet("return the new MSE, not the factor it changes by")
        return not_yet("write the PSNR before and after with 10·log10(1 / MSE), then solve for the new MSE")
    return right(
        "+1 dB divides the error by 1.26, +3 dB halves it, +10 dB divides it by 10: a gap of one or two dB "
        "between two restorations is a real difference"
    )


@exercise("0.2")
def minutes(answer) -> object:
    """`answer(iters, sec_per_iter, side)`: minutes of a fit, from seconds per iteration timed at 128×128."""
    for iters, pace, side in ((8000, 0.03, 128), (3000, 0.05, 256), (1500, 0.02, 64)):
        got = float(answer(iters, pace, side))
        seconds = iters * pace * (side / 128) ** 2
        if np.isclose(got, seconds / 60, rtol=1e-6):
            continue
        if np.isclose(got, seconds, rtol=1e-6):
            return not_yet("that is in seconds: a minute has 60 of them")
        if np.isclose(got, seconds / 3600, rtol=1e-6):
            return not_yet("that is in hours: give minutes")
        if np.isclose(got, iters / pace / 60, rtol=1e-6):
            return not_yet("the pace is seconds per iteration: the iterations times the pace gives seconds")
        if np.isclose(got, iters * pace * (side / 128) / 60, rtol=1e-6):
            return not_yet(
                "the cost grows with the number of pixels, not with the side: twice the side is 4× the pixels"
            )
        if np.isclose(got, iters * pace * (128 / side) ** 2 / 60, rtol=1e-6):
            return not_yet("the ratio is upside down: a larger image has more pixels and takes longer")
        if np.isclose(got, iters * pace / 60, rtol=1e-6):
            return not_yet("right at 128×128; at another side the network draws more or fewer pixels: scale for that")
        return not_yet("iterations × seconds per iteration gives seconds; then scale for the pixels, and convert")
    return right(
        "lesson 02's 8000 iterations at 30 ms each take 4 minutes at 128×128, and over an hour at the paper's 512×512"
    )


@exercise("0.3")
def values_and_parameters(answer) -> object:
    """`answer` = (values in a 128×128 colour image, parameters of the `lesson` network)."""
    from .. import nets

    values, params = 128 * 128 * 3, nets.count_params(nets.build("lesson"))
    if not is_pair(answer):
        return not_yet("answer with two numbers: (values in the image, parameters of the network)")
    got_values, got_params = answer
    if got_values == 128 * 128:
        return not_yet("that counts pixels: each pixel of a colour image has three values")
    if got_values != values:
        return not_yet("count the image's values: its height × its width × its colour channels")
    if got_params == nets.count_params(nets.build("paper")):
        return not_yet("that is the paper's network; count the parameters of dip.build('lesson')")
    if got_params == nets.count_params(nets.build(nets.hourglass("lesson"))):
        return not_yet("that network has no skip connections; count the parameters of dip.build('lesson')")
    if got_params != params:
        return not_yet("count the parameters with dip.count_params(dip.build('lesson'))")
    paper = nets.count_params(nets.build("paper"))
    return right(
        f"the lesson network has {params:,} parameters for the image's {values:,} values, the paper's {paper:,}: "
        "the prior does not come from a network too small to store the image, but from its structure"
    )


WIDER = ("about 2 times", "about 25 times", "about 250 times")


@exercise("0.0")
def wider_networks(answer) -> object:
    """A prediction: how many times the `lesson` network's parameters the wider `lesson-text` has."""
    from ..nets import build, count_params

    if (wrong := among(answer, WIDER)) is not None:
        return wrong
    narrow, wide = count_params(build("lesson")), count_params(build("lesson-text"))
    ratio = wide / narrow
    truth = min(WIDER, key=lambda choice: abs(np.log(float(choice.split()[1]) / ratio)))
    seen = f"`lesson` has {narrow:,} parameters and `lesson-text` {wide:,}, {ratio:.0f} times as many"
    if answer != truth:
        return not_yet(f"not so: {seen}. A 3×3 convolution's weights grow with its input channels times its outputs")
    return right(f"{seen}: twice the channels means four times the weights, and its coarse scales are 128 wide")
