/* snapdeck: global options, then the CLI (or, with no command, the console). */
#include "config.h"

#include "cli/cli.h"
#include "hv/hv.h"
#include "tui/tui.h"
#include "util/i18n.h"

int main(int argc, char **argv)
{
	sd_i18n_init();
	hv_init();
	return cli_main(argc, argv, tui_main);
}
