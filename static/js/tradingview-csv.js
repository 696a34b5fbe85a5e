/**
 * A trial's trades as TradingView's Strategy Tester "List of trades" export, so they can
 * be compared with a TradingView backtest line by line or fed to tools that read that file.
 *
 * Columns (the subset Backtune can fill; TradingView adds Run-up and Drawdown columns,
 * which need intrabar highs and lows per trade):
 *
 *   Trade #, Type, Signal, Date/Time, Price, Contracts, Profit, Profit %, Cum. Profit, Cum. Profit %
 *
 * Like TradingView, each trade takes two rows, its exit ("Exit Long") above its entry
 * ("Entry Long"), both carrying the trade's profit. Signal is "Long"/"Short" on entries
 * and "Exit" on exits (Backtune's trades carry no signal names). Times are UTC as
 * "YYYY-MM-DD HH:MM" (TradingView writes the chart's time zone); Profit is net of
 * commission; Profit % is the trade's return on its entry value; Cum. Profit % is against
 * the starting capital. The open position at the end, if any, is not a closed trade and
 * is left out, as TradingView's "Open" row is only shown in its UI.
 */

const HEADER = ["Trade #", "Type", "Signal", "Date/Time", "Price", "Contracts", "Profit", "Profit %",
  "Cum. Profit", "Cum. Profit %"];

export function tradingViewCsv(trades, capital) {
  const lines = [HEADER.join(",")];
  let cumulative = 0;
  trades.forEach((trade, i) => {
    cumulative += trade.net_pnl;
    const side = trade.direction === "long" ? "Long" : "Short";
    const shared = [trade.size, money(trade.net_pnl), money(trade.pnl_pct), money(cumulative),
      money((cumulative / capital) * 100)];
    lines.push([i + 1, `Exit ${side}`, "Exit", time(trade.exit_time), price(trade.exit_price), ...shared].join(","));
    lines.push([i + 1, `Entry ${side}`, side, time(trade.entry_time), price(trade.entry_price), ...shared].join(","));
  });
  return `${lines.join("\r\n")}\r\n`;
}

/** "2025-06-15T09:15:00Z" -> "2025-06-15 09:15". */
function time(iso) {
  return iso.slice(0, 16).replace("T", " ");
}

const money = (value) => (Math.round(value * 100) / 100).toFixed(2);
const price = (value) => String(Number(value.toPrecision(10)));
