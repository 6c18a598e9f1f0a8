/* snapdeck: global options, then the CLI (or, with no command, the console). */
#include "config.h"

#include <signal.h>

#include "cli/cli.h"
#include "hv/hv.h"
#include "tui/tui.h"
#include "util/i18n.h"

int main(int argc, char **argv)
{
	sd_i18n_init();
	/* libvirt writes to its socket: a libvirtd gone must be an error, not a
	 * signal; a closed stdout ends output the same way */
	signal(SIGPIPE, SIG_IGN);
	hv_init();
	return cli_main(argc, argv, tui_main);
}
